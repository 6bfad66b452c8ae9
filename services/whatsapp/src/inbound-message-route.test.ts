import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookRequests } from './test-support/webhook-requests.js';
import { inboundMessageRoutes } from './inbound-message-route.js';
import type { PhoneOptOuts } from './send-order-whatsapp.js';

const AUTH_TOKEN = 'inbound-test-token';
const PUBLIC_URL = 'https://hooks.example.com/notify/whatsapp/twilio/inbound';
const NUMBER = '+447700900123';

let app: FastifyInstance;
let optedOut: Map<string, string>;

beforeEach(async () => {
  optedOut = new Map();
  const optOuts: PhoneOptOuts = {
    isOptedOut: async (phone) => optedOut.has(phone),
    optOut: async (phone, source) => !optedOut.has(phone) && !!optedOut.set(phone, source),
    optIn: async (phone) => optedOut.delete(phone),
  };
  app = Fastify();
  await inboundMessageRoutes({
    authToken: AUTH_TOKEN,
    inboundUrl: () => PUBLIC_URL,
    optOuts,
    logger: pino({ level: 'silent' }),
  })(app);
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const message = (body: string, from = `whatsapp:${NUMBER}`, extra: Record<string, string> = {}) => ({
  AccountSid: `AC${'1'.repeat(32)}`,
  MessageSid: `SM${'c'.repeat(32)}`,
  From: from,
  To: 'whatsapp:+14155238886',
  Body: body,
  ...extra,
});

const { post, signed } = webhookRequests(() => app, '/twilio/inbound', PUBLIC_URL, AUTH_TOKEN);

describe('POST /twilio/inbound', () => {
  it('opts the number out on a signed STOP (any case, WhatsApp or SMS), and back in on START', async () => {
    const res = await signed(message(' stop '));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/xml');
    expect(optedOut.get(NUMBER)).toBe('stop-keyword');
    expect((await signed(message('START', NUMBER))).statusCode).toBe(200);
    expect(optedOut.has(NUMBER)).toBe(false);
    expect((await signed(message('UNSUBSCRIBE', NUMBER))).statusCode).toBe(200);
    expect(optedOut.has(NUMBER)).toBe(true);
  });

  it("follows Twilio's OptOutType over the text, and ignores any other message", async () => {
    await signed(message('please stop writing', `whatsapp:${NUMBER}`, { OptOutType: 'STOP' }));
    expect(optedOut.has(NUMBER)).toBe(true);
    optedOut.clear();
    expect((await signed(message('please stop writing'))).statusCode).toBe(200);
    expect(optedOut.size).toBe(0);
  });

  it('changes nothing for an unsigned or wrongly signed request, nor for a sender that is no number', async () => {
    expect((await post(message('STOP'))).statusCode).toBe(403);
    expect((await post(message('STOP'), 'bm90IHRoZSBzaWduYXR1cmU=')).statusCode).toBe(403);
    const forged = twilio.getExpectedTwilioSignature('another-token', PUBLIC_URL, message('STOP'));
    expect((await post(message('STOP'), forged)).statusCode).toBe(403);
    expect((await signed(message('STOP', 'whatsapp:not-a-number'))).statusCode).toBe(400);
    expect(optedOut.size).toBe(0);
  });
});
