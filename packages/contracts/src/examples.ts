import type {
  EmailMessage,
  FraudMessage,
  LogisticMessage,
  PaymentMessage,
  WhatsappMessage,
} from './registry.js';

// Valid sample messages: documentation for integrators and fixtures for every test suite.
const orderId = '3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70';
const address = {
  name: 'Ada Lovelace',
  line1: '12 St James Square',
  city: 'London',
  postalCode: 'SW1Y 4JH',
  country: 'GB',
};

export const exampleMessages = {
  email: {
    orderId,
    recipient: { name: 'Ada Lovelace', email: 'ada@example.com' },
    locale: 'en-GB',
    order: {
      reference: 'ORD-3F2C1A9E',
      placedAt: '2026-11-23T09:00:00.000Z',
      currency: 'GBP',
      lines: [
        {
          sku: 'BOOK-001',
          name: 'Notes on the Analytical Engine',
          quantity: 2,
          unitPrice: 1999,
          lineTotal: 3998,
        },
      ],
      subtotal: 3998,
      shipping: 0,
      total: 3998,
      shippingAddress: address,
    },
  } satisfies EmailMessage,
  whatsapp: {
    orderId,
    to: '+447700900123',
    locale: 'en-GB',
    variables: {
      customerName: 'Ada Lovelace',
      orderReference: 'ORD-3F2C1A9E',
      total: 3998,
      currency: 'GBP',
      itemCount: 2,
    },
  } satisfies WhatsappMessage,
  logistic: {
    orderId,
    recipient: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+447700900123' },
    items: [{ sku: 'BOOK-001', name: 'Notes on the Analytical Engine', quantity: 2, weightGrams: 450 }],
    shippingAddress: address,
    declaredValue: 3998,
    currency: 'GBP',
  } satisfies LogisticMessage,
  payment: {
    orderId,
    amount: 3998,
    currency: 'GBP',
    paymentMethodToken: 'tok_approve',
    customer: { name: 'Ada Lovelace', email: 'ada@example.com' },
    billingAddress: address,
  } satisfies PaymentMessage,
  fraud: {
    orderId,
    customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: '+447700900123', locale: 'en-GB' },
    amount: 3998,
    currency: 'GBP',
    items: [{ sku: 'BOOK-001', quantity: 2, unitPrice: 1999 }],
    shippingAddress: address,
    billingAddress: address,
    metadata: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0' },
    placedAt: '2026-11-23T09:00:00.000Z',
  } satisfies FraudMessage,
};
