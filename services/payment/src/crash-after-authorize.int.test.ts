import { randomUUID } from 'node:crypto';
import { exampleMessages } from '@notify/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationResult } from './payment-gateway.js';
import { createHarness } from './test-support/harness.js';
import type { Harness } from './test-support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('payment-crash');
});
afterAll(async () => {
  await h?.close();
});

describe('payment service crash between the gateway call and the database write', () => {
  it('after a redelivery, the same idempotency key gets the first result back and nothing is charged twice', async () => {
    const orderId = randomUUID();

    // First process: the gateway authorises, then the process "dies" before storing the
    // result: its handler never returns and its broker connection goes away, so the
    // broker gives the unacknowledged message to the next consumer.
    let firstAnswer: (r: AuthorizationResult) => void = () => undefined;
    const answered = new Promise<AuthorizationResult>((resolve) => (firstAnswer = resolve));
    const doomed = await h.start(
      {
        wrapGateway: (gateway) => ({
          name: gateway.name,
          authorize: async (request, options) => {
            firstAnswer(await gateway.authorize(request, options));
            return new Promise<never>(() => undefined);
          },
        }),
      },
      // Its gateway deadline must not fire while the replacement starts: the "dead"
      // process would then record its attempt as an error instead of leaving it pending.
      { SHUTDOWN_TIMEOUT_MS: '100', PAYMENT_GATEWAY_TIMEOUT_MS: '600000' },
    );
    await h.send({ ...structuredClone(exampleMessages.payment), orderId, paymentMethodToken: 'tok_approve' });
    const first = await answered;
    expect(first.status).toBe('authorized');
    await doomed.infra.broker.close();

    // The replacement process (a new simulator instance over the same ledger, as after a restart).
    await h.start();
    const [event] = await h.eventsFor(orderId, 'payment.authorized');
    const body = JSON.parse(event!.payload);
    expect(body.authorizationId).toBe(first.status === 'authorized' && first.authorizationId);

    // The processor saw two calls with the key and charged once.
    const ledger = (
      await h.sql.query('SELECT * FROM simulated_processor_ledger WHERE idempotency_key = $1', [orderId])
    ).rows;
    expect(ledger).toEqual([
      expect.objectContaining({ calls: 2, status: 'authorized', authorization_id: body.authorizationId }),
    ]);
    // The dead process left its attempt pending; the redelivered one completed it.
    const attempts = (
      await h.sql.query('SELECT * FROM attempts WHERE order_id = $1 ORDER BY attempt_no', [orderId])
    ).rows;
    expect(attempts.map((a) => [a.attempt_no, a.outcome, a.redelivered, a.authorization_id])).toEqual([
      [1, 'pending', false, null],
      [2, 'authorized', true, body.authorizationId],
    ]);
    expect((await h.sql.query('SELECT * FROM payments WHERE order_id = $1', [orderId])).rows).toEqual([
      expect.objectContaining({ status: 'authorized', authorization_id: body.authorizationId, attempts: 2 }),
    ]);
    await doomed.stop();
  });
});
