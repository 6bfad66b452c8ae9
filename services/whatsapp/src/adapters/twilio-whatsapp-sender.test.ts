import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendNotStarted } from '../send-order-whatsapp.js';
import { WhatsappDeliveryError } from '../twilio-failure.js';
import { rebase, TwilioWhatsappSender } from './twilio-whatsapp-sender.js';

let sandbox: WhatsappSandbox;
beforeAll(async () => {
  sandbox = await startWhatsappSandbox({ port: 0 });
  sandbox.setBehaviour({ callbacks: false, callbackStatuses: [] });
});
afterAll(async () => {
  await sandbox?.close();
});

const provider = (patch: Partial<ConstructorParameters<typeof TwilioWhatsappSender>[0]> = {}) =>
  new TwilioWhatsappSender({
    accountSid: sandbox.accountSid,
    authToken: sandbox.authToken,
    from: '+14155238886',
    apiBaseUrl: sandbox.url,
    timeoutMs: 5_000,
    ...patch,
  });

describe('rebase', () => {
  it('moves api.twilio.com requests under the base URL, keeping its path prefix and the query', () => {
    const base = new URL('http://127.0.0.1:8026/twilio/');
    expect(rebase('https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?PageSize=5', base)).toBe(
      'http://127.0.0.1:8026/twilio/2010-04-01/Accounts/AC1/Messages.json?PageSize=5',
    );
    expect(rebase('https://content.twilio.com/v1/Content', base)).toBe(
      'https://content.twilio.com/v1/Content',
    );
  });
});

describe('Twilio sender through the real SDK', () => {
  it('sends a session body to whatsapp:+E164 with the status callback', async () => {
    const accepted = await provider().send({
      to: '+4915112345678',
      content: { kind: 'session', body: 'Hallo Ada, vielen Dank!' },
      statusCallback: 'https://hooks.example.com/twilio/status',
    });
    expect(accepted.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(accepted.status).toBe('queued');
    const received = sandbox.messages().find((m) => m.sid === accepted.sid);
    expect(received).toMatchObject({
      to: 'whatsapp:+4915112345678',
      from: 'whatsapp:+14155238886',
      body: 'Hallo Ada, vielen Dank!',
      contentSid: null,
      statusCallback: 'https://hooks.example.com/twilio/status',
    });
  });

  it('sends a Content template with its variables as a JSON string', async () => {
    const contentSid = `HX${'9'.repeat(32)}`;
    const accepted = await provider().send({
      to: '+4915112345679',
      content: { kind: 'template', contentSid, variables: { '1': 'Ada', '2': 'ORD-1' } },
      statusCallback: undefined,
    });
    const received = sandbox.messages().find((m) => m.sid === accepted.sid);
    expect(received).toMatchObject({
      contentSid,
      contentVariables: { '1': 'Ada', '2': 'ORD-1' },
      body: null,
    });
    expect(received?.params.ContentVariables).toBe('{"1":"Ada","2":"ORD-1"}');
    expect(received?.statusCallback).toBeNull();
  });

  it('turns rejected credentials into a permanent configuration error', async () => {
    const err = await provider({ authToken: 'wrong-token' })
      .send({ to: '+4915112345678', content: { kind: 'session', body: 'x' }, statusCallback: undefined })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhatsappDeliveryError);
    expect(err).toMatchObject({ retryable: false, httpStatus: 401, errorCode: 20003, configuration: true });
  });

  it('turns a refused connection into a retryable error', async () => {
    // A port that was free a moment ago and has nobody listening now.
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const err = await provider({ apiBaseUrl: `http://127.0.0.1:${port}` })
      .send({ to: '+4915112345678', content: { kind: 'session', body: 'x' }, statusCallback: undefined })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhatsappDeliveryError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it('does not call Twilio when, once its turn came, the claim could no longer outlast the call', async () => {
    const before = sandbox.messages().length;
    const message = {
      to: '+4915112345678',
      content: { kind: 'session' as const, body: 'Hallo Ada' },
      statusCallback: undefined,
    };
    const limited = provider({ limits: { concurrency: 1, perSecond: 0 } });
    await expect(limited.send(message, () => false)).rejects.toBeInstanceOf(SendNotStarted);
    await expect(
      limited.sendSms({ to: message.to, body: 'Hi', statusCallback: undefined }, () => false),
    ).rejects.toBeInstanceOf(SendNotStarted);
    expect(sandbox.messages()).toHaveLength(before);
    // The refused turn gave its place back: the next send goes out.
    expect((await limited.send(message, () => true)).status).toBe('queued');
  });
});
