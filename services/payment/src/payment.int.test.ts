import { randomUUID } from 'node:crypto';
import { exampleMessages, HEADERS } from '@notify/contracts';
import type { PaymentMessage } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from './test-support/harness.js';
import type { Harness } from './test-support/harness.js';

let h: Harness;
let service: Awaited<ReturnType<Harness['start']>>;

beforeAll(async () => {
  h = await createHarness('payment');
  service = await h.start(
    { retry: { maxAttempts: 4, delaysMs: [50, 100, 150], jitter: 0 } },
    // Long enough that the simulator's own database writes never hit it on a loaded
    // machine (a timeout there would be a second attempt the assertions do not expect);
    // tok_timeout still shows the deadline, four times over.
    { PAYMENT_GATEWAY_TIMEOUT_MS: '2000', PAYMENT_SIMULATOR_FLAKY_FAILURES: '2' },
  );
});

afterAll(async () => {
  await h?.close();
});

function order(token: string, patch: Partial<PaymentMessage> = {}): PaymentMessage {
  return {
    ...structuredClone(exampleMessages.payment),
    orderId: randomUUID(),
    paymentMethodToken: token,
    ...patch,
  };
}

const rowsFor = async (table: string, orderId: string, order = '') =>
  (await h.sql.query(`SELECT * FROM ${table} WHERE order_id = $1 ${order}`, [orderId])).rows;
const ledgerFor = async (orderId: string) =>
  (await h.sql.query('SELECT * FROM simulated_processor_ledger WHERE idempotency_key = $1', [orderId])).rows;

describe('payment service', () => {
  it('authorises an approved card: payment row, one attempt, one charge, payment.authorized', async () => {
    const msg = order('tok_approve');
    await h.send(msg);
    const [event] = await h.eventsFor(msg.orderId, 'payment.authorized');
    const body = JSON.parse(event!.payload);
    expect(event!.properties.message_id).toBe(`${msg.orderId}:payment.authorized`);
    expect(event!.properties.correlation_id).toBe(msg.orderId);
    expect(body).toMatchObject({
      orderId: msg.orderId,
      amount: 3998,
      currency: 'GBP',
      gateway: 'simulated-card-processor',
    });
    expect(body.authorizationId).toMatch(/^simauth_/);

    expect(await rowsFor('payments', msg.orderId)).toEqual([
      expect.objectContaining({
        status: 'authorized',
        authorization_id: body.authorizationId,
        amount: '3998',
        currency: 'GBP',
        attempts: 1,
        message_id: `${msg.orderId}:payment`,
      }),
    ]);
    const attempts = await rowsFor('attempts', msg.orderId);
    expect(attempts).toEqual([
      expect.objectContaining({
        attempt_no: 1,
        delivery_attempt: 1,
        outcome: 'authorized',
        authorization_id: body.authorizationId,
        error: null,
      }),
    ]);
    expect(attempts[0].latency_ms).toBeGreaterThanOrEqual(0);
    expect(await ledgerFor(msg.orderId)).toEqual([
      expect.objectContaining({ calls: 1, status: 'authorized', authorization_id: body.authorizationId }),
    ]);
  });

  it.each([
    ['tok_decline', 'card_declined'],
    ['tok_insufficient_funds', 'insufficient_funds'],
  ])('treats %s as an outcome: payment.declined %s, acked, no retry, no dead letter', async (token, code) => {
    const msg = order(token);
    await h.send(msg);
    const [event] = await h.eventsFor(msg.orderId, 'payment.declined');
    expect(event!.properties.message_id).toBe(`${msg.orderId}:payment.declined`);
    expect(JSON.parse(event!.payload)).toMatchObject({
      orderId: msg.orderId,
      code,
      amount: 3998,
      currency: 'GBP',
      gateway: 'simulated-card-processor',
    });
    await h.settled(service);
    expect(await rowsFor('payments', msg.orderId)).toEqual([
      expect.objectContaining({
        status: 'declined',
        decline_code: code,
        authorization_id: null,
        attempts: 1,
      }),
    ]);
    // One attempt, completed as a decline: the handler returned normally, nothing was retried.
    expect((await rowsFor('attempts', msg.orderId)).map((a) => a.outcome)).toEqual(['declined']);
    const dead = await h.vh.take('payment.dlq', 100);
    expect(dead.filter((m) => JSON.parse(m.payload).orderId === msg.orderId)).toEqual([]);
  });

  it('retries transient gateway failures with the same key, then authorises once', async () => {
    const msg = order('tok_flaky');
    await h.send(msg);
    const [event] = await h.eventsFor(msg.orderId, 'payment.authorized');
    const retrying = await h.eventsFor(msg.orderId, 'payment.retrying', 2);
    expect(retrying.map((e) => JSON.parse(e.payload).attempt)).toEqual([1, 2]);
    expect(retrying.map((e) => e.properties.message_id)).toEqual([
      `${msg.orderId}:payment:retrying:1`,
      `${msg.orderId}:payment:retrying:2`,
    ]);
    expect(JSON.parse(retrying[0]!.payload).reason).toContain('502 Bad Gateway');

    const attempts = await rowsFor('attempts', msg.orderId, 'ORDER BY attempt_no');
    expect(attempts.map((a) => [a.attempt_no, a.delivery_attempt, a.outcome, a.transient])).toEqual([
      [1, 1, 'error', true],
      [2, 2, 'error', true],
      [3, 3, 'authorized', null],
    ]);
    expect(attempts[0].error).toContain('502 Bad Gateway (call 1 of 2 failing)');
    const authorizationId = JSON.parse(event!.payload).authorizationId;
    expect(await rowsFor('payments', msg.orderId)).toEqual([
      expect.objectContaining({ status: 'authorized', authorization_id: authorizationId, attempts: 3 }),
    ]);
    expect(await ledgerFor(msg.orderId)).toEqual([
      expect.objectContaining({ calls: 3, status: 'authorized', authorization_id: authorizationId }),
    ]);
  });

  it('dead-letters after the last attempt when the gateway keeps failing, with every attempt stored', async () => {
    const msg = order('tok_gateway_error');
    await h.send(msg);
    const [deadEvent] = await h.eventsFor(msg.orderId, 'payment.dead_lettered');
    expect(JSON.parse(deadEvent!.payload)).toMatchObject({ channel: 'payment', attempts: 4 });
    const dead = await waitFor(
      async () =>
        (await h.vh.take('payment.dlq', 100)).find((m) => JSON.parse(m.payload).orderId === msg.orderId),
      { what: 'dead letter' },
    );
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('max-attempts-exceeded');
    expect(String(dead.properties.headers?.[HEADERS.deathDetail])).toContain('503 Service Unavailable');
    const attempts = await rowsFor('attempts', msg.orderId, 'ORDER BY attempt_no');
    expect(attempts.map((a) => a.outcome)).toEqual(['error', 'error', 'error', 'error']);
    expect(await rowsFor('payments', msg.orderId)).toEqual([]);
    expect(await ledgerFor(msg.orderId)).toEqual([expect.objectContaining({ calls: 4, status: null })]);
  });

  it('gives up on a gateway that does not answer in time and retries', async () => {
    const msg = order('tok_timeout');
    await h.send(msg);
    const [retrying] = await h.eventsFor(msg.orderId, 'payment.retrying');
    expect(JSON.parse(retrying!.payload).reason).toBe('payment gateway did not answer within 2000 ms');
    const [first] = await rowsFor('attempts', msg.orderId, 'AND attempt_no = 1');
    expect(first).toMatchObject({
      outcome: 'error',
      transient: true,
      error: 'payment gateway did not answer within 2000 ms',
    });
    await h.eventsFor(msg.orderId, 'payment.dead_lettered');
  });

  it('a duplicate delivery after success re-publishes the stored outcome and never calls the gateway', async () => {
    const msg = order('tok_approve');
    await h.send(msg);
    const [first] = await h.eventsFor(msg.orderId, 'payment.authorized');
    await h.settled(service);

    await h.send(msg);
    await h.send(msg, `${msg.orderId}:payment:resent`);
    const all = await h.eventsFor(msg.orderId, 'payment.authorized', 3);
    for (const e of all) {
      expect(e.properties.message_id).toBe(`${msg.orderId}:payment.authorized`);
      expect(JSON.parse(e.payload)).toEqual(JSON.parse(first!.payload));
    }
    await h.settled(service);
    expect(await ledgerFor(msg.orderId)).toEqual([expect.objectContaining({ calls: 1 })]);
    expect(await rowsFor('attempts', msg.orderId)).toHaveLength(1);
    expect(await rowsFor('payments', msg.orderId)).toHaveLength(1);
  });

  it('a duplicate delivery of a decline re-publishes the decline', async () => {
    const msg = order('tok_decline');
    await h.send(msg);
    const [first] = await h.eventsFor(msg.orderId, 'payment.declined');
    await h.settled(service);
    await h.send(msg);
    const both = await h.eventsFor(msg.orderId, 'payment.declined', 2);
    expect(JSON.parse(both[1]!.payload)).toEqual(JSON.parse(first!.payload));
    expect(await ledgerFor(msg.orderId)).toEqual([expect.objectContaining({ calls: 1 })]);
  });
});
