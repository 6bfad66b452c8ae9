import { randomInt } from 'node:crypto';

/** The body of POST /orders, as a shop would send it (the order API computes the totals). */
export interface OrderRequest {
  customer: { reference?: string; name: string; email: string; phone: string; locale: string };
  currency: string;
  items: { sku: string; name: string; quantity: number; unitPrice: number; weightGrams: number }[];
  shippingAddress: Address;
  billingAddress: Address;
  paymentMethodToken: string;
  metadata?: Record<string, string>;
}

interface Address {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode: string;
  country: string;
}

const CUSTOMERS = [
  {
    name: 'Ada Lovelace',
    local: 'ada.lovelace',
    locale: 'en-GB',
    currency: 'GBP',
    address: { line1: '12 St James Square', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
  },
  {
    name: 'Emmy Noether',
    local: 'emmy.noether',
    locale: 'de-DE',
    currency: 'EUR',
    address: { line1: 'Bunsenstraße 3-5', city: 'Göttingen', postalCode: '37073', country: 'DE' },
  },
] as const;

/**
 * A realistic order for the demo and the end-to-end tests. Each call gets its own email
 * address and phone number (from ranges reserved for examples), so running the demo many
 * times does not look like one customer ordering in a burst, which the fraud rules would
 * rightly flag.
 */
export function sampleOrder(
  options: {
    customer?: 0 | 1;
    email?: string;
    phone?: string;
    reference?: string;
    paymentMethodToken?: string;
  } = {},
): OrderRequest {
  const c = CUSTOMERS[options.customer ?? 0];
  const tag = randomInt(1_000_000).toString().padStart(6, '0');
  // Ofcom keeps +44 7700 900000-900999 for fiction; the German number is a made-up mobile one.
  // +447700900999 is the WhatsApp sandbox's number that is not on WhatsApp (the SMS fallback).
  const gb = tag.slice(3) === '999' ? '998' : tag.slice(3);
  const phone =
    options.phone ?? (c.address.country === 'GB' ? `+447700900${gb}` : `+4915123${tag.slice(0, 6)}`);
  const address = { name: c.name, ...c.address };
  return {
    customer: {
      ...(options.reference ? { reference: options.reference } : {}),
      name: c.name,
      email: options.email ?? `${c.local}.${tag}@example.com`,
      phone,
      locale: c.locale,
    },
    currency: c.currency,
    items: [
      {
        sku: 'BOOK-001',
        name: 'Notes on the Analytical Engine',
        quantity: 2,
        unitPrice: 1999,
        weightGrams: 450,
      },
      { sku: 'PEN-7', name: 'Fountain pen', quantity: 1, unitPrice: 1250, weightGrams: 30 },
    ],
    shippingAddress: address,
    billingAddress: { ...address },
    paymentMethodToken: options.paymentMethodToken ?? 'tok_approve',
    metadata: { channel: 'web' },
  };
}
