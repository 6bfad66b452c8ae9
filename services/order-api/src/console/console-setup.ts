import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import type { Broker } from '@notify/messaging';
import type { Pool } from '@notify/service-kit';
import type { Logger } from 'pino';
import { ParkedLetters } from '../dead-letters/parked-letters.js';
import type { OrderChanges } from '../status/order-changes.js';
import { BrokerManagement } from './broker-management.js';
import { defaultAssetsDir, loadConsoleAssets } from './console-assets.js';
import type { LoadedAssets } from './console-assets.js';
import type { ConsoleConfig } from './console-config.js';
import { ConsoleFeed } from './console-feed.js';
import { OrderSummaries } from './order-summaries.js';
import { QueueProbe } from './queue-probe.js';
import { httpServiceOps } from './service-ops.js';
import type { ServiceOps } from './service-ops.js';

/** What the console's routes need; made by setupConsole from the environment and the API's parts. */
export interface ConsoleSetup {
  /** The built page, or why it is not served. */
  readonly assets: LoadedAssets;
  readonly summaries: OrderSummaries;
  readonly feed: ConsoleFeed;
  readonly queues: QueueProbe;
  /** The consumer services' operations endpoints (the API's own are asked in-process). */
  readonly serviceOps: Readonly<Record<Channel, ServiceOps>>;
  /** The API's own readiness and metrics, read in-process (they are not on the public port). */
  readonly self: ServiceOps;
  readonly management: BrokerManagement;
  /** The parked dead letters, counted per queue for the System view. */
  readonly parked: Pick<ParkedLetters, 'counts'>;
  readonly maxStreams: number;
  readonly heartbeatMs: number;
}

export async function setupConsole(options: {
  config: ConsoleConfig;
  amqpUrl: string;
  pool: Pool;
  broker: Pick<Broker, 'connection'>;
  changes: Pick<OrderChanges, 'watchAll'>;
  heartbeatMs: number;
  logger: Logger;
  self: ServiceOps;
}): Promise<ConsoleSetup> {
  const { config } = options;
  const assets = await loadConsoleAssets(config.assetsDir ?? defaultAssetsDir());
  const log = options.logger.child({ component: 'console' });
  if (assets.ok) {
    log.info({ files: assets.assets.files.size }, 'operator console served at /console/');
  } else {
    log.warn(
      { reason: assets.reason },
      'operator console disabled: its page is not built (npm run build builds packages/console); /console/api/* still answers',
    );
  }
  const summaries = new OrderSummaries(options.pool);
  return {
    assets,
    summaries,
    feed: new ConsoleFeed({ changes: options.changes, summaries, logger: log }),
    queues: new QueueProbe(options.broker),
    serviceOps: Object.fromEntries(CHANNELS.map((c) => [c, httpServiceOps(config.serviceUrls[c])])) as Record<
      Channel,
      ServiceOps
    >,
    management: new BrokerManagement({ managementUrl: config.managementUrl, amqpUrl: options.amqpUrl }),
    parked: new ParkedLetters(options.pool),
    maxStreams: config.maxStreams,
    heartbeatMs: options.heartbeatMs,
    self: options.self,
  };
}
