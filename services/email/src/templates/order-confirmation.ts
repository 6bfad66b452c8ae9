import { formatMoney } from '@notify/contracts';
import type { EmailMessage, Locale } from '@notify/contracts';
import { CATALOGUES } from './catalogue.js';
import { addressLines, formatDateTime, quantityFormat } from './format.js';
import { renderOrderConfirmationHtml } from './order-confirmation-html.js';
import { renderOrderConfirmationText } from './order-confirmation-text.js';

/** Everything the two bodies show, formatted for the locale but not yet escaped. */
export interface OrderConfirmationView {
  readonly locale: Locale;
  readonly subject: string;
  readonly heading: string;
  readonly greeting: string;
  readonly intro: string;
  readonly columns: { item: string; quantity: string; price: string; total: string };
  readonly skuLabel: string;
  readonly lines: readonly {
    name: string;
    sku: string;
    quantity: string;
    unitPrice: string;
    each: string;
    lineTotal: string;
  }[];
  readonly totals: readonly { label: string; amount: string; emphasis: boolean }[];
  readonly shipToLabel: string;
  readonly shipTo: readonly string[];
  readonly closing: string;
  readonly signOff: string;
  readonly footer: string;
}

export interface RenderedEmail {
  readonly locale: Locale;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * Control characters in customer data would break a header or the text layout; they
 * have no business in a name or an address line.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
function clean(value: string): string {
  return value.replace(CONTROL, ' ').trim();
}

export function orderConfirmationView(
  message: EmailMessage,
  locale: Locale,
  shopName: string,
): OrderConfirmationView {
  const t = CATALOGUES[locale];
  const { order } = message;
  const money = (minor: number) => formatMoney(minor, order.currency, locale);
  const reference = clean(order.reference);
  const quantity = quantityFormat(locale);
  return {
    locale,
    subject: t.subject(reference),
    heading: t.heading,
    greeting: t.greeting(clean(message.recipient.name)),
    intro: t.intro(reference, formatDateTime(order.placedAt, locale, t.timeZone)),
    columns: { item: t.itemColumn, quantity: t.quantityColumn, price: t.priceColumn, total: t.totalColumn },
    skuLabel: t.sku,
    lines: order.lines.map((line) => ({
      name: clean(line.name),
      sku: line.sku,
      quantity: quantity.format(line.quantity),
      unitPrice: money(line.unitPrice),
      each: t.each(money(line.unitPrice)),
      lineTotal: money(line.lineTotal),
    })),
    totals: [
      { label: t.subtotal, amount: money(order.subtotal), emphasis: false },
      {
        label: t.shipping,
        amount: order.shipping === 0 ? t.freeShipping : money(order.shipping),
        emphasis: false,
      },
      { label: t.total, amount: money(order.total), emphasis: true },
    ],
    shipToLabel: t.shipTo,
    shipTo: addressLines(order.shippingAddress, locale).map(clean).filter(Boolean),
    closing: t.closing,
    signOff: t.signOff(clean(shopName)),
    footer: t.footer,
  };
}

/** The order confirmation's subject and both bodies in the given (already resolved) locale. */
export function renderOrderConfirmation(
  message: EmailMessage,
  locale: Locale,
  shopName: string,
): RenderedEmail {
  const view = orderConfirmationView(message, locale, shopName);
  return {
    locale,
    subject: view.subject,
    text: renderOrderConfirmationText(view),
    html: renderOrderConfirmationHtml(view),
  };
}
