import { exampleMessages, formatMoney, LOCALES } from '@notify/contracts';
import type { WhatsappMessage } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { composeWhatsapp } from './compose-message.js';

const HX_DEFAULT = `HX${'a'.repeat(32)}`;
const HX_GERMAN = `HX${'d'.repeat(32)}`;
const template = {
  mode: 'template' as const,
  contentSid: HX_DEFAULT,
  contentSidsByLocale: { 'de-DE': HX_GERMAN },
};
const session = { mode: 'session' as const, contentSid: '', contentSidsByLocale: {} };

const message = (patch: Partial<WhatsappMessage> = {}, vars: Partial<WhatsappMessage['variables']> = {}) => ({
  ...exampleMessages.whatsapp,
  ...patch,
  variables: { ...exampleMessages.whatsapp.variables, ...vars },
});

describe('amounts', () => {
  // The email states the same totals (services/email/src/templates/order-confirmation.test.ts):
  // both channels format through formatMoney of @notify/contracts.
  it('shows the total with the currency exponent: none for JPY, two for GBP, three for KWD', () => {
    for (const [currency, locale, total, shown] of [
      ['JPY', 'en-US', 1500, '¥1,500'],
      ['GBP', 'en-GB', 3998, '£39.98'],
      ['KWD', 'en-GB', 1234, 'KWD\u00a01.234'],
    ] as const) {
      const content = composeWhatsapp(message({ locale }, { currency, total }), template);
      expect(content).toMatchObject({ variables: { '3': shown } });
      expect(shown).toBe(formatMoney(total, currency, locale));
    }
  });
});

describe('composeWhatsapp in template mode', () => {
  it('fills the four positional variables and uses the default content SID', () => {
    expect(composeWhatsapp(message(), template)).toEqual({
      kind: 'template',
      contentSid: HX_DEFAULT,
      variables: { '1': 'Ada Lovelace', '2': 'ORD-3F2C1A9E', '3': '£39.98', '4': '2' },
    });
  });

  it("uses the locale's own template when one is configured", () => {
    const content = composeWhatsapp(
      message({ locale: 'de-DE' }, { currency: 'EUR', total: 123456 }),
      template,
    );
    expect(content).toMatchObject({ contentSid: HX_GERMAN, variables: { '3': '1.234,56\u00a0€' } });
  });

  it('folds whitespace in the name, which WhatsApp refuses inside a variable', () => {
    const content = composeWhatsapp(message({}, { customerName: ' Ada\n\tKing   Lovelace ' }), template);
    expect(content).toMatchObject({ variables: { '1': 'Ada King Lovelace' } });
  });
});

describe('composeWhatsapp in session mode', () => {
  it('writes a body in every supported locale with the localised total', () => {
    for (const locale of LOCALES) {
      const content = composeWhatsapp(message({ locale }), session);
      if (content.kind !== 'session') throw new Error('expected a session body');
      expect(content.body).toContain('Ada Lovelace');
      expect(content.body).toContain('ORD-3F2C1A9E');
      expect(content.body).toContain(formatMoney(3998, 'GBP', locale));
    }
  });

  it('speaks the customer’s language and counts items in it', () => {
    expect(composeWhatsapp(message({ locale: 'de-DE' }), session)).toMatchObject({
      body: expect.stringMatching(
        /^Hallo Ada Lovelace, vielen Dank für Ihre Bestellung ORD-3F2C1A9E: 2 Artikel/,
      ),
    });
    expect(composeWhatsapp(message({ locale: 'en-GB' }, { itemCount: 1 }), session)).toMatchObject({
      body: expect.stringContaining(': 1 item, total'),
    });
    expect(composeWhatsapp(message({ locale: 'pt-BR' }, { itemCount: 3 }), session)).toMatchObject({
      body: expect.stringContaining(': 3 itens, total'),
    });
  });
});
