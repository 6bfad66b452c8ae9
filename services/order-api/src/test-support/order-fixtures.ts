import type { CreateOrderInput } from '../http/order-schemas.js';

const address = {
  name: 'Ada Lovelace',
  line1: '12 St James Square',
  city: 'London',
  postalCode: 'SW1Y 4JH',
  country: 'GB',
};

/** A valid order body; each test changes what it is about. */
export function validOrder(): CreateOrderInput {
  return structuredClone({
    customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+447700900123', locale: 'en-GB' },
    currency: 'GBP',
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
    billingAddress: { ...address, line2: 'Flat 3' },
    paymentMethodToken: 'tok_approve',
    metadata: { channel: 'web' },
  } satisfies CreateOrderInput);
}
