import { Broker, Publisher } from '@notify/messaging';
import { createPool } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { OutboxStore } from '../outbox/outbox-store.js';
import { OutboxRelay } from '../outbox/relay.js';
import type { OutboxRelayOptions } from '../outbox/relay.js';
import { publisherTopology } from '../publisher-topology.js';
import { silent } from './test-api.js';

export interface StandaloneRelay {
  readonly relay: OutboxRelay;
  readonly broker: Broker;
  stop(): Promise<void>;
}

/**
 * A relay in its own "replica": own pool, broker connection and LISTEN session, so it
 * learns of new rows only through PostgreSQL (NOTIFY or its poll), never in-process.
 */
export async function startStandaloneRelay(
  name: string,
  env: { databaseUrl: string; amqpUrl: string },
  options: Partial<OutboxRelayOptions> & { wrapPool?: (pool: Pool) => Pool } = {},
): Promise<StandaloneRelay> {
  const pool = createPool({ url: env.databaseUrl, schema: 'order_api', max: 4 });
  const broker = await Broker.connect({
    url: env.amqpUrl,
    connectionName: name,
    topology: publisherTopology(),
  });
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  const { wrapPool, ...rest } = options;
  const relay = new OutboxRelay({
    store: new OutboxStore(wrapPool ? wrapPool(pool) : pool),
    publisher,
    broker,
    databaseUrl: env.databaseUrl,
    schema: 'order_api',
    logger: silent,
    ...rest,
  });
  relay.start();
  return {
    relay,
    broker,
    async stop() {
      await relay.stop();
      await publisher.close();
      await broker.close();
      await pool.end();
    },
  };
}
