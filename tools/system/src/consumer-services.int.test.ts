import { CHANNELS, notifications } from '@notify/contracts';
import type { Channel, Contract } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcceptedOrder } from './order-client.js';
import { sampleOrder } from './sample-order.js';
import type { OrderRequest } from './sample-order.js';
import { schemaOf } from './services.js';
import { counterValue, startLocalSystem } from './test-support/local-system.js';
import type { LocalSystem } from './test-support/local-system.js';

// The order API and the five services as separate processes against the real broker and
// database: each order's five effects happen once, and a second delivery of every message
// (same message ids, straight to the `notification` exchange) changes nothing anywhere,
// since delivery is at least once and only the consumers' idempotency keeps effects single.

const ORDERS = 4;

interface OutboxRow {
  message_id: string;
  order_id: string;
  channel: Channel;
  payload: unknown;
}

describe('the five consumer services, each doing its job once per order', () => {
  let sys: LocalSystem;
  const orders: { body: OrderRequest; accepted: AcceptedOrder }[] = [];

  beforeAll(async () => {
    sys = await startLocalSystem({ prefix: 'system-consumers' });
    for (let i = 0; i < ORDERS; i++) {
      const body = sampleOrder({ customer: (i % 2) as 0 | 1 });
      orders.push({ body, accepted: await sys.api.postOrder(body) });
    }
  });

  afterAll(async () => {
    await sys?.close();
  });

  const ids = () => orders.map((o) => o.accepted.id);

  /** Messages each consumer settled, by outcome, from its /metrics. */
  async function settled(channel: Channel): Promise<{ done: number; failed: number }> {
    const text = await sys.metrics(channel);
    const count = (outcome: string) =>
      counterValue(text, 'messages_processed_total', { queue: channel, outcome });
    return {
      done: count('ack') + count('duplicate'),
      failed: count('retry') + count('dead-letter') + count('requeue'),
    };
  }

  async function waitUntilSettled(expected: number) {
    for (const channel of CHANNELS) {
      await waitFor(async () => (await settled(channel)).done >= expected, {
        timeoutMs: 90_000,
        what: `${channel} to settle ${expected} messages`,
      });
    }
    for (const channel of CHANNELS) {
      await waitFor(async () => (await sys.vhost.queue(channel))?.messages === 0, {
        timeoutMs: 30_000,
        what: `queue ${channel} to be empty`,
      });
    }
  }

  /** Everything the five effects left behind, per order, as a comparable value. */
  async function effects() {
    const q = async (sql: string) => (await sys.db.query(sql, [ids()])).rows;
    const countPerOrder = (table: string) =>
      q(
        `SELECT order_id, count(*)::int AS n FROM ${table} WHERE order_id = ANY($1) GROUP BY order_id ORDER BY order_id`,
      );
    return {
      emailsReceived: Object.fromEntries(
        orders.map((o) => [
          o.accepted.id,
          sys.mail.messages().filter((m) => m.envelope.to.includes(o.body.customer.email)).length,
        ]),
      ),
      smtpTransactions: sys.mail.attempts(),
      whatsappRequests: sys.sandbox.attempts(),
      whatsappMessages: Object.fromEntries(
        orders.map((o) => [
          o.accepted.id,
          sys.sandbox.messages().filter((m) => m.to === `whatsapp:${o.body.customer.phone}`).length,
        ]),
      ),
      confirmations: await q(
        `SELECT order_id, status, attempts, smtp_message_id FROM ${schemaOf('email')}.order_confirmations
         WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
      whatsapp: await q(
        `SELECT order_id, message_sid, status FROM ${schemaOf('whatsapp')}.messages WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
      whatsappHistory: await countPerOrder(`${schemaOf('whatsapp')}.status_history`),
      shipments: await q(
        `SELECT order_id, tracking_number, carrier_id, estimated_delivery::text FROM ${schemaOf('logistic')}.shipments
         WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
      logisticInbox: await countPerOrder(`${schemaOf('logistic')}.inbox`),
      payments: await q(
        `SELECT order_id, status, authorization_id, attempts FROM ${schemaOf('payment')}.payments
         WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
      gatewayCalls: await countPerOrder(`${schemaOf('payment')}.attempts`),
      processorLedger: await q(
        `SELECT idempotency_key, calls, authorization_id FROM ${schemaOf('payment')}.simulated_processor_ledger
         WHERE idempotency_key = ANY($1::text[]) ORDER BY idempotency_key`,
      ),
      assessments: await q(
        `SELECT order_id, score, decision, rules FROM ${schemaOf('fraud')}.assessments WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
      observations: await q(
        `SELECT order_id FROM ${schemaOf('fraud')}.observations WHERE order_id = ANY($1) ORDER BY order_id`,
      ),
    };
  }

  it('every order got exactly one email, one WhatsApp request, one shipment, one payment and one assessment', async () => {
    for (const { body } of orders) {
      await sys.mail.waitFor((m) => m.envelope.to.includes(body.customer.email), 90_000);
      // The sandbox's last status callback: after it nothing about the message changes any more.
      await sys.sandbox.waitFor(
        (m) =>
          m.to === `whatsapp:${body.customer.phone}` &&
          m.callbacks.some((c) => c.status === 'read' && c.httpStatus !== null && c.httpStatus < 300),
        90_000,
      );
    }
    await waitUntilSettled(ORDERS);

    const e = await effects();
    for (const id of ids()) {
      expect(e.emailsReceived[id], `emails for ${id}`).toBe(1);
      expect(e.whatsappMessages[id], `WhatsApp messages for ${id}`).toBe(1);
    }
    expect(e.smtpTransactions).toBe(ORDERS);
    expect(e.whatsappRequests).toBe(ORDERS);
    expect(e.confirmations.map((r) => r.status)).toEqual(Array(ORDERS).fill('sent'));
    expect(e.whatsapp.map((r) => r.status)).toEqual(Array(ORDERS).fill('read'));
    expect(e.shipments).toHaveLength(ORDERS);
    expect(e.logisticInbox.map((r) => r.n)).toEqual(Array(ORDERS).fill(1));
    expect(e.payments.map((r) => r.status)).toEqual(Array(ORDERS).fill('authorized'));
    expect(e.gatewayCalls.map((r) => r.n)).toEqual(Array(ORDERS).fill(1));
    expect(e.processorLedger.map((r) => r.calls)).toEqual(Array(ORDERS).fill(1));
    expect(e.assessments).toHaveLength(ORDERS);
    expect(e.observations).toHaveLength(ORDERS);
    for (const channel of CHANNELS) expect((await settled(channel)).failed, channel).toBe(0);
  });

  it('the order API shows every one of those orders completed, each channel succeeded with its details', async () => {
    for (const id of ids()) {
      const order = await waitFor(
        async () => {
          const o = await sys.api.getOrder(id);
          return o.status === 'completed' && o.channels.whatsapp.details?.['deliveryStatus'] === 'read'
            ? o
            : null;
        },
        { timeoutMs: 90_000, what: `order ${id} completed` },
      );
      for (const channel of CHANNELS) expect(order.channels[channel].state, channel).toBe('succeeded');
      expect(order.channels.email.details?.['smtpMessageId']).toEqual(expect.any(String));
      expect(order.channels.payment.details?.['authorizationId']).toEqual(expect.any(String));
    }
  });

  it('a second delivery of every message of those orders, with the same message ids, changes nothing', async () => {
    const before = await effects();
    const { rows } = await sys.db.query<OutboxRow>(
      `SELECT message_id, order_id, channel, payload FROM ${schemaOf('order-api')}.outbox
       WHERE order_id = ANY($1) AND published_at IS NOT NULL ORDER BY id`,
      [ids()],
    );
    expect(rows).toHaveLength(ORDERS * CHANNELS.length);

    const broker = await Broker.connect({ url: sys.vhost.url, connectionName: 'system-test-duplicates' });
    const publisher = new Publisher(broker);
    try {
      for (const row of rows) {
        const contract: Contract = notifications[row.channel];
        // Straight to the `notification` exchange, as a relay that crashed before recording
        // its confirm would send it again.
        expect(contract.exchange).toBe('notification');
        await publisher.publish(contract, row.payload as never, {
          messageId: row.message_id,
          correlationId: row.order_id,
        });
      }
    } finally {
      await publisher.close();
      await broker.close();
    }

    await waitUntilSettled(ORDERS * 2);
    for (const channel of CHANNELS) expect((await settled(channel)).failed, channel).toBe(0);
    expect(await effects()).toEqual(before);
  });
});
