import type { MailCatcher } from '@notify/mail-catcher';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import type pg from 'pg';
import type { CrashWindow } from '../effect-audit.js';
import type { ProviderLedger } from '../effect-snapshot.js';
import type { FaultProfile, ScenarioId } from '../fault-profiles.js';
import type { OrderFactory, PlacedOrder } from '../order-traffic.js';
import type { PrivatePostgres } from '../private-postgres.js';
import type { PrivateRabbitNode, QueueDepth } from '../private-rabbitmq.js';
import type { ProviderLine } from '../provider-line.js';
import type { SystemUnderTest } from '../system-under-test.js';

// What a fault scenario is given and what it hands back to the suite, which places
// nothing itself: the scenario drives the load and the fault, the suite audits the orders.

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

/** The broker the system runs against: one private node, or the private cluster behind HAProxy. */
export interface BrokerUnderTest {
  readonly vhost: string;
  /** What the services connect to. */
  readonly url: string;
  /** A direct URL to a running node (the suite's own clients). */
  directUrl(): string;
  readonly nodes: readonly PrivateRabbitNode[];
  /** A running node, for rabbitmqctl. */
  ctlNode(): PrivateRabbitNode;
  queues(withLeader?: boolean): Promise<QueueDepth[]>;
}

export interface ScenarioContext {
  readonly profile: FaultProfile;
  readonly system: SystemUnderTest;
  readonly broker: BrokerUnderTest;
  readonly database: PrivatePostgres;
  readonly pool: pg.Pool;
  readonly mail: MailCatcher;
  readonly sandbox: WhatsappSandbox;
  /** Everything the stand-ins accepted during the run (they are emptied between scenarios). */
  readonly providers: ProviderLedger;
  /** The lines the services reach the SMTP and Twilio stand-ins through (cut = unreachable). */
  readonly lines: { readonly smtp: ProviderLine; readonly twilio: ProviderLine };
  readonly factory: OrderFactory;
  readonly runTag: string;
  /**
   * Whether a queue's messages are work in flight: not a dead-letter queue, not the
   * unroutable catch-all, and not the order API's event queue while nothing consumes it
   * (an order API that does not report outcomes yet).
   */
  inFlightQueue(name: string): boolean;
  log(message: string): void;
}

export interface ScenarioOutcome {
  readonly orders: PlacedOrder[];
  /** When the system was back to normal conditions (the fault cleared). */
  readonly faultEnd?: number;
  readonly windows: CrashWindow[];
  readonly checks: Check[];
  readonly notes: string[];
  /** Waited for after the load, before the books are closed (e.g. dead letters arriving). */
  readonly settle?: () => Promise<Check[]>;
  /** Asked once every effect is in and nothing is in flight any more (e.g. nothing was dead-lettered). */
  readonly closing?: () => Promise<Check[]>;
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}
