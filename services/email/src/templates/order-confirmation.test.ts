import { exampleMessages, formatMoney, LOCALES } from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { CATALOGUES } from './catalogue.js';
import { escapeHtml } from './html-escape.js';
import { resolveLocale } from './locale.js';
import { renderOrderConfirmation } from './order-confirmation.js';

const NBSP = '\u00a0';
const NNBSP = '\u202f';

function order(
  overrides: Partial<EmailMessage['order']> = {},
  rest: Partial<EmailMessage> = {},
): EmailMessage {
  const base = structuredClone(exampleMessages.email) as EmailMessage;
  return { ...base, ...rest, order: { ...base.order, ...overrides } };
}

const twoLines: Partial<EmailMessage['order']> = {
  currency: 'EUR',
  lines: [
    { sku: 'LAMP-7', name: 'Desk lamp', quantity: 1, unitPrice: 123456, lineTotal: 123456 },
    { sku: 'BULB-2', name: 'LED bulb', quantity: 3, unitPrice: 499, lineTotal: 1497 },
  ],
  subtotal: 124953,
  shipping: 590,
  total: 125543,
  shippingAddress: {
    name: 'Erika Mustermann',
    line1: 'Heidestraße 17',
    city: 'Köln',
    postalCode: '51147',
    country: 'DE',
  },
};

describe('order confirmation template', () => {
  it('renders the British English confirmation with pounds, the date in London time and the address', () => {
    const r = renderOrderConfirmation(order(), 'en-GB', 'Notify Shop');
    expect(r.subject).toBe('Your order ORD-3F2C1A9E is confirmed');
    expect(r.text).toContain('Hello Ada Lovelace,');
    expect(r.text).toContain('placed on 23 November 2026 at 09:00 GMT');
    expect(r.text).toContain('2 × Notes on the Analytical Engine');
    expect(r.text).toContain('SKU BOOK-001 · £19.99 each');
    expect(r.text).toContain('Subtotal: £39.98\nShipping: Free\nTotal: £39.98');
    expect(r.text).toContain('Ada Lovelace\n12 St James Square\nLondon\nSW1Y 4JH\nUnited Kingdom');
    expect(r.text).toContain('The Notify Shop team');
    expect(r.html).toContain('<html lang="en-GB">');
    expect(r.html).toContain('<title>Your order ORD-3F2C1A9E is confirmed</title>');
    expect(r.html).toContain('>£39.98</td>');
    expect(r.html).toContain('London<br>SW1Y 4JH<br>United Kingdom');
  });

  it('renders German with German number, currency and date formats and a German country name', () => {
    const r = renderOrderConfirmation(order(twoLines, { locale: 'de-DE' }), 'de-DE', 'Notify Shop');
    expect(r.subject).toBe('Ihre Bestellung ORD-3F2C1A9E ist bestätigt');
    expect(r.text).toContain('Hallo Ada Lovelace,');
    expect(r.text).toContain('vom 23. November 2026 um 10:00 MEZ');
    expect(r.text).toContain(
      `1 × Desk lamp\n    Art.-Nr. LAMP-7 · je 1.234,56${NBSP}€\n    1.234,56${NBSP}€`,
    );
    expect(r.text).toContain(`3 × LED bulb\n    Art.-Nr. BULB-2 · je 4,99${NBSP}€\n    14,97${NBSP}€`);
    expect(r.text).toContain(
      `Zwischensumme: 1.249,53${NBSP}€\nVersand: 5,90${NBSP}€\nGesamtbetrag: 1.255,43${NBSP}€`,
    );
    expect(r.text).toContain('Erika Mustermann\nHeidestraße 17\n51147 Köln\nDeutschland');
    expect(r.html).toContain(`>1.255,43${NBSP}€</td>`);
  });

  it('renders US English with dollars, US date order and Eastern time', () => {
    const r = renderOrderConfirmation(
      order({
        ...twoLines,
        currency: 'USD',
        shippingAddress: {
          ...exampleMessages.email.order.shippingAddress,
          country: 'US',
          city: 'Springfield',
          region: 'IL',
          postalCode: '62704',
        },
      }),
      'en-US',
      'Notify Shop',
    );
    expect(r.text).toContain('placed on November 23, 2026 at 04:00 AM EST');
    expect(r.text).toContain('Total: $1,255.43');
    expect(r.text).toContain('Springfield, IL 62704\nUnited States');
  });

  it('renders French, Spanish and Brazilian Portuguese with their own separators', () => {
    const fr = renderOrderConfirmation(order(twoLines), 'fr-FR', 'Notify Shop');
    expect(fr.subject).toBe('Votre commande ORD-3F2C1A9E est confirmée');
    expect(fr.text).toContain(`Total: 1${NNBSP}255,43${NBSP}€`);
    expect(fr.text).toContain('Livraison: 5,90');
    const es = renderOrderConfirmation(order(twoLines), 'es-ES', 'Notify Shop');
    expect(es.subject).toBe('Tu pedido ORD-3F2C1A9E está confirmado');
    expect(es.text).toContain(`Total: 1255,43${NBSP}€`);
    const br = renderOrderConfirmation(order({ ...twoLines, currency: 'BRL' }), 'pt-BR', 'Notify Shop');
    expect(br.subject).toBe('Seu pedido ORD-3F2C1A9E foi confirmado');
    expect(br.text).toContain(`Total: R$${NBSP}1.255,43`);
    expect(br.text).toContain('feito em 23 de novembro de 2026 às 06:00 BRT');
  });

  it('has words for every locale the contract allows, with the reference in each subject', () => {
    for (const locale of LOCALES) {
      expect(CATALOGUES[locale], locale).toBeDefined();
      const r = renderOrderConfirmation(order({ reference: 'REF-123' }), locale, 'Notify Shop');
      expect(r.subject, locale).toContain('REF-123');
      expect(r.text, locale).toContain('Ada Lovelace');
      expect(r.html, locale).toContain(`<html lang="${locale}">`);
    }
    // Subjects differ per language: a locale silently falling back to English would show here.
    const subjects = new Set(LOCALES.map((l) => CATALOGUES[l].subject('X')));
    expect(subjects.size).toBe(5);
  });

  it('escapes every piece of customer data in the HTML body and keeps it readable in the text body', () => {
    const evil = '<script>alert(1)</script>';
    const r = renderOrderConfirmation(
      order(
        {
          reference: 'R&D-"1"',
          lines: [
            {
              sku: 'X-1',
              name: `<img src=x onerror="alert('p')">`,
              quantity: 1,
              unitPrice: 100,
              lineTotal: 100,
            },
          ],
          subtotal: 100,
          total: 100,
          shippingAddress: {
            name: evil,
            line1: '<b>bold</b> street',
            line2: "O'Brien & Sons",
            city: '<i>City</i>',
            postalCode: 'AB1 2CD',
            region: '"><svg onload=alert(2)>',
            country: 'GB',
          },
        },
        { recipient: { name: evil, email: 'ada@example.com' } },
      ),
      'en-GB',
      '<Shop>',
    );
    expect(r.html).not.toMatch(/<script|<img|<svg|<b>|<i>|onerror="|<Shop>/);
    expect(r.html).toContain('Hello &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(r.html).toContain('&lt;img src=x onerror=&quot;alert(&#39;p&#39;)&quot;&gt;');
    expect(r.html).toContain('&lt;b&gt;bold&lt;/b&gt; street');
    expect(r.html).toContain('O&#39;Brien &amp; Sons');
    expect(r.html).toContain('&quot;&gt;&lt;svg onload=alert(2)&gt;');
    expect(r.html).toContain('R&amp;D-&quot;1&quot;');
    expect(r.html).toContain('The &lt;Shop&gt; team');
    expect(r.text).toContain(`Hello ${evil},`);
    expect(r.subject).toBe('Your order R&D-"1" is confirmed');
  });

  it('replaces control characters in customer data so they cannot break the layout', () => {
    const r = renderOrderConfirmation(
      order({}, { recipient: { name: 'Ada\r\nBcc: x@example.com', email: 'ada@example.com' } }),
      'en-GB',
      'Notify Shop',
    );
    expect(r.text).toContain('Hello Ada Bcc: x@example.com,');
  });
});

describe('amounts', () => {
  // The WhatsApp message states the same totals (services/whatsapp/src/compose-message.test.ts):
  // both channels format through formatMoney of @notify/contracts.
  it('shows the total with the currency exponent: none for JPY, two for GBP, three for KWD', () => {
    for (const [currency, locale, total, shown] of [
      ['JPY', 'en-US', 1500, '¥1,500'],
      ['GBP', 'en-GB', 3998, '£39.98'],
      ['KWD', 'en-GB', 1234, `KWD${NBSP}1.234`],
    ] as const) {
      const r = renderOrderConfirmation(order({ currency, total }), locale, 'Notify Shop');
      expect(r.text).toContain(`Total: ${shown}`);
      expect(r.html).toContain(`>${shown}</td>`);
      expect(shown).toBe(formatMoney(total, currency, locale));
    }
  });
});

describe('resolveLocale', () => {
  it('prefers the exact locale, then the same language, then the default', () => {
    expect(resolveLocale('de-DE', 'en-GB')).toBe('de-DE');
    expect(resolveLocale('en-us', 'en-GB')).toBe('en-US');
    expect(resolveLocale('de-AT', 'en-GB')).toBe('de-DE');
    expect(resolveLocale('en-AU', 'de-DE')).toBe('en-GB');
    expect(resolveLocale('pt-PT', 'en-GB')).toBe('pt-BR');
    expect(resolveLocale('ja-JP', 'en-US')).toBe('en-US');
    expect(resolveLocale('', 'fr-FR')).toBe('fr-FR');
  });
});

describe('escapeHtml', () => {
  it('escapes the five characters that matter in text and quoted attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});
