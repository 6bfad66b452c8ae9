import { notifications } from '@notify/contracts';
import type { PaymentMessage } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import { createTestDatabase, tapOrderEvents } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import pino from 'pino';
import { startPaymentService } from '../service.js';
import type { PaymentServiceOptions } from '../service.js';

// What the payment integration suites share: their own vhost and database, a publisher
// standing in for the order API, and a queue that sees every event on order.events.

type Service = Awaited<ReturnType<typeof startPaymentService>>;

export interface Harness {
  readonly vh: TestVhost;
  readonly db: TestDatabase;
  readonly sql: pg.Pool;
  start(opts?: PaymentServiceOptions, env?: NodeJS.ProcessEnv): Promise<Service>;
  send(message: PaymentMessage, messageId?: string): Promise<void>;
  /** Events on order.events for one order and routing key, once at least `count` arrived. */
  eventsFor(orderId: string, routingKey: string, count?: number): Promise<PeekedMessage[]>;
  /** Waits until the payment queue is empty and no handler of `service` is running. */
  settled(service: Service): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(prefix: string): Promise<Harness> {
  const [vh, db] = await Promise.all([createTestVhost(prefix), createTestDatabase(prefix)]);
  const tap = await tapOrderEvents(vh, `${prefix}-test`);
  const sql = new pg.Pool({ connectionString: db.url, options: '-c search_path=payment' });
  const services: Service[] = [];

  return {
    vh,
    db,
    sql,
    async start(opts = {}, env = {}) {
      const service = await startPaymentService(
        {
          AMQP_URL: vh.url,
          DATABASE_URL: db.url,
          PORT: '0',
          HOST: '127.0.0.1',
          NODE_ENV: 'test',
          PAYMENT_SIMULATOR_LATENCY_MS: '5',
          ...env,
        },
        { logger: pino({ level: 'silent' }), ...opts },
      );
      services.push(service);
      // The service connects in the background; its queue exists once it reports ready.
      await waitFor(async () => (await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200, {
        what: 'payment service ready',
      });
      return service;
    },
    async send(message, messageId = `${message.orderId}:payment`) {
      await tap.publisher.publish(notifications.payment, message, {
        messageId,
        correlationId: message.orderId,
      });
    },
    eventsFor: (orderId, routingKey, count) => tap.eventsFor(orderId, routingKey, count),
    async settled(service) {
      await waitFor(async () => (await vh.queue('payment'))?.messages === 0 && service.inFlight() === 0, {
        what: 'payment queue drained',
      });
    },
    async close() {
      for (const s of services) await s.stop().catch(() => undefined);
      await tap.close();
      await sql.end();
      await vh.delete();
      await db.drop();
    },
  };
}
