import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandboxClient } from './test-support/twilio-client.js';
import { expectRestException } from './test-support/rest-exception.js';
import { startWhatsappSandbox } from './whatsapp-sandbox.js';
import type { WhatsappSandbox } from './whatsapp-sandbox.js';

// Generous: other suites may be loading the machine at the same time.
const WAIT_MS = 30_000;

const TO = 'whatsapp:+4915112345678';
const FROM = 'whatsapp:+14155238886';

let sandbox: WhatsappSandbox;
let client: ReturnType<typeof sandboxClient>;

beforeEach(async () => {
  sandbox = await startWhatsappSandbox();
  client = sandboxClient(sandbox.url, sandbox.accountSid, sandbox.authToken);
});

afterEach(async () => {
  await sandbox.close();
});

describe('the real twilio SDK against the sandbox', () => {
  it('creates a message and gets a queued Twilio message resource back', async () => {
    const message = await client.messages.create({
      to: TO,
      from: FROM,
      body: 'Your order 1234 is confirmed',
      statusCallback: 'http://127.0.0.1:9/never-called',
    });

    expect(message.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(message).toMatchObject({
      accountSid: sandbox.accountSid,
      to: TO,
      from: FROM,
      body: 'Your order 1234 is confirmed',
      status: 'queued',
      direction: 'outbound-api',
      apiVersion: '2010-04-01',
      numSegments: '1',
      numMedia: '0',
      price: null,
      errorCode: null,
      errorMessage: null,
      uri: `/2010-04-01/Accounts/${sandbox.accountSid}/Messages/${message.sid}.json`,
    });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(message.dateCreated.getTime())).toBe(false);

    const [held] = sandbox.messages();
    expect(held).toMatchObject({
      sid: message.sid,
      to: TO,
      from: FROM,
      body: 'Your order 1234 is confirmed',
      statusCallback: 'http://127.0.0.1:9/never-called',
      params: { To: TO, From: FROM, Body: 'Your order 1234 is confirmed' },
    });
    expect(sandbox.attempts()).toBe(1);
  });

  it('accepts a content template with variables', async () => {
    const contentSid = 'HX0123456789abcdef0123456789abcdef';
    const message = await client.messages.create({
      to: TO,
      from: FROM,
      contentSid,
      contentVariables: JSON.stringify({ 1: 'Ada', 2: 'order-1234' }),
    });
    expect(message.sid).toMatch(/^SM/);
    expect(message.body).toBeNull();
    const held = await sandbox.waitFor((m) => m.sid === message.sid, WAIT_MS);
    expect(held).toMatchObject({ contentSid, contentVariables: { 1: 'Ada', 2: 'order-1234' }, body: null });
  });

  it('fetches a message with its current status', async () => {
    const created = await client.messages.create({ to: TO, from: FROM, body: 'hi' });
    await sandbox.waitFor((m) => m.sid === created.sid && m.status === 'read', WAIT_MS);
    const fetched = await client.messages(created.sid).fetch();
    expect(fetched).toMatchObject({ sid: created.sid, status: 'read', body: 'hi' });
    expect(fetched.dateSent).toBeInstanceOf(Date);

    const missing = await expectRestException(() => client.messages(`SM${'f'.repeat(32)}`).fetch());
    expect(missing.status).toBe(404);
    expect(missing.code).toBe(20404);
  });

  it('a malformed number surfaces as RestException 400 with code 21211', async () => {
    const error = await expectRestException(() =>
      client.messages.create({ to: 'whatsapp:015112345678', from: FROM, body: 'hi' }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe(21211);
    expect(error.message).toMatch(/^Invalid 'To' Phone Number/);
    expect(error.moreInfo).toBe('https://www.twilio.com/docs/errors/21211');

    // An SMS address to a WhatsApp sender: the sender is no SMS sender.
    const plainSms = await expectRestException(() =>
      client.messages.create({ to: '+4915112345678', from: FROM, body: 'hi' }),
    );
    expect(plainSms.code).toBe(21212);
    expect(sandbox.messages()).toEqual([]);
  });

  it('rejectNumbers refuses well-formed numbers with 21211', async () => {
    sandbox.setBehaviour({ rejectNumbers: ['\\+4915100000'] });
    const error = await expectRestException(() =>
      client.messages.create({ to: 'whatsapp:+4915100000123', from: FROM, body: 'hi' }),
    );
    expect(error.status).toBe(400);
    expect(error.code).toBe(21211);
    await expect(client.messages.create({ to: TO, from: FROM, body: 'hi' })).resolves.toMatchObject({
      to: TO,
    });
  });

  it('failNext answers the next requests with 429 (code 20429), then accepts again', async () => {
    sandbox.setBehaviour({ failNext: { count: 2, status: 429 } });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await expectRestException(() =>
        client.messages.create({ to: TO, from: FROM, body: 'hi' }),
      );
      expect(error.status).toBe(429);
      expect(error.code).toBe(20429);
    }
    await client.messages.create({ to: TO, from: FROM, body: 'hi' });
    expect(sandbox.attempts()).toBe(3);
    expect(sandbox.messages()).toHaveLength(1);
    expect(sandbox.behaviour().failNext).toEqual({ count: 0, status: 429 });
  });

  it.each([500, 503] as const)('failNext with %i surfaces that status', async (status) => {
    sandbox.setBehaviour({ failNext: { count: 1, status } });
    const error = await expectRestException(() => client.messages.create({ to: TO, from: FROM, body: 'hi' }));
    expect(error.status).toBe(status);
    expect(error.code).toBe(20000 + status);
  });

  it('wrong credentials get 401 with code 20003', async () => {
    const intruder = sandboxClient(sandbox.url, sandbox.accountSid, 'wrong-token');
    const error = await expectRestException(() =>
      intruder.messages.create({ to: TO, from: FROM, body: 'hi' }),
    );
    expect(error.status).toBe(401);
    expect(error.code).toBe(20003);

    const otherAccount = sandboxClient(sandbox.url, `AC${'1'.repeat(32)}`, sandbox.authToken);
    const rejected = await expectRestException(() =>
      otherAccount.messages.create({ to: TO, from: FROM, body: 'hi' }),
    );
    expect(rejected.status).toBe(401);
    expect(sandbox.messages()).toEqual([]);
    expect(sandbox.attempts()).toBe(2);
  });
});
