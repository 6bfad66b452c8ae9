import { formatMoney } from '@notify/contracts';
import type { Locale, WhatsappMessage } from '@notify/contracts';

/** What goes to Twilio for one order, independent of how it is sent. */
export type WhatsappContent =
  | { readonly kind: 'template'; readonly contentSid: string; readonly variables: Record<string, string> }
  | { readonly kind: 'session'; readonly body: string };

export interface ContentSettings {
  readonly mode: 'template' | 'session';
  readonly contentSid: string;
  readonly contentSidsByLocale: Partial<Record<Locale, string>>;
}

/**
 * WhatsApp refuses template variables with newlines, tabs or runs of spaces, and a name is
 * free text typed by the customer, so whitespace is folded before it becomes a variable.
 */
export function foldWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

type SessionText = (v: { name: string; reference: string; items: number; total: string }) => string;

// One PluralRules per locale for the life of the process: building one costs far more than using it.
const pluralRules = new Map<Locale, Intl.PluralRules>();

function plural(locale: Locale, n: number, one: string, other: string): string {
  let rules = pluralRules.get(locale);
  if (!rules) {
    rules = new Intl.PluralRules(locale);
    pluralRules.set(locale, rules);
  }
  return rules.select(n) === 'one' ? one : other;
}

const SESSION_TEXTS: Record<Locale, SessionText> = {
  'en-GB': (v) =>
    `Hi ${v.name}, thank you for your order ${v.reference}: ${v.items} ${plural('en-GB', v.items, 'item', 'items')}, total ${v.total}. We will let you know when it ships.`,
  'en-US': (v) =>
    `Hi ${v.name}, thanks for your order ${v.reference}: ${v.items} ${plural('en-US', v.items, 'item', 'items')}, total ${v.total}. We'll let you know when it ships.`,
  'de-DE': (v) =>
    `Hallo ${v.name}, vielen Dank für Ihre Bestellung ${v.reference}: ${v.items} ${plural('de-DE', v.items, 'Artikel', 'Artikel')}, Gesamtbetrag ${v.total}. Wir melden uns, sobald sie versendet wird.`,
  'fr-FR': (v) =>
    `Bonjour ${v.name}, merci pour votre commande ${v.reference} : ${v.items} ${plural('fr-FR', v.items, 'article', 'articles')}, total ${v.total}. Nous vous préviendrons dès son expédition.`,
  'es-ES': (v) =>
    `Hola ${v.name}, gracias por tu pedido ${v.reference}: ${v.items} ${plural('es-ES', v.items, 'artículo', 'artículos')}, total ${v.total}. Te avisaremos cuando se envíe.`,
  'pt-BR': (v) =>
    `Olá ${v.name}, obrigado pelo seu pedido ${v.reference}: ${v.items} ${plural('pt-BR', v.items, 'item', 'itens')}, total ${v.total}. Avisaremos quando for enviado.`,
};

/**
 * Template mode uses an approved Content template (required for business-initiated
 * messages outside the 24-hour session window) with positional variables:
 * {{1}} customer name, {{2}} order reference, {{3}} formatted total, {{4}} item count.
 * Session mode sends a plain localised body, valid only inside an open session.
 */
export function composeWhatsapp(message: WhatsappMessage, settings: ContentSettings): WhatsappContent {
  const v = message.variables;
  const total = formatMoney(v.total, v.currency, message.locale);
  // A name of nothing but whitespace would become an empty variable, which Twilio refuses.
  const name = foldWhitespace(v.customerName) || '-';
  if (settings.mode === 'template') {
    return {
      kind: 'template',
      contentSid: settings.contentSidsByLocale[message.locale] ?? settings.contentSid,
      variables: {
        '1': name,
        '2': v.orderReference,
        '3': total,
        '4': String(v.itemCount),
      },
    };
  }
  return {
    kind: 'session',
    body: SESSION_TEXTS[message.locale]({ name, reference: v.orderReference, items: v.itemCount, total }),
  };
}

/** The SMS fallback's text: the session text in the customer's language, whatever the WhatsApp mode. */
export function composeSmsText(message: WhatsappMessage): string {
  const v = message.variables;
  const total = formatMoney(v.total, v.currency, message.locale);
  const name = foldWhitespace(v.customerName) || '-';
  return SESSION_TEXTS[message.locale]({ name, reference: v.orderReference, items: v.itemCount, total });
}
