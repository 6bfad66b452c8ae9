import { HEADERS } from '@notify/contracts';
import type { ConsumerTopology } from '@notify/contracts';
import { setTimeout as delay } from 'node:timers/promises';
import type { Channel, GetMessage, Options } from 'amqplib';
import type { Broker } from './broker.js';
import { BrokerUnavailableError } from './errors.js';
import { identityTrust, publisherIdentity, withPublishedBy } from './identity.js';
import { republishProperties } from './properties.js';
import type { Publisher } from './publisher.js';

/** One dead-lettered message as the consumer runner left it (headers from HEADERS). */
export interface DeadLetter {
  readonly messageId: string | null;
  /** The order id, when the message carried one. */
  readonly correlationId: string | null;
  readonly type: string | null;
  readonly reason: string;
  readonly detail: string | null;
  readonly deadLetteredAt: string | null;
  readonly attempts: number | null;
  readonly replays: number;
}

export interface DeadLetterSummary {
  readonly queue: string;
  /** Messages waiting in the dead-letter queue (the broker's count). */
  readonly count: number;
  /** How many of them were read to build `oldest`, `reasons` and `messages`. */
  readonly sampled: number;
  readonly oldest: DeadLetter | null;
  /** Messages per death reason, most frequent first, each with one example detail. */
  readonly reasons: readonly { reason: string; count: number; example: string | null }[];
  /** The first messages of the queue, at most `listLimit`. */
  readonly messages: readonly DeadLetter[];
}

export interface ReplaySelection {
  /** Replay only these message ids; all messages (up to `limit`) when absent. */
  readonly messageIds?: readonly string[];
  readonly limit?: number;
}

export interface ReplayHooks {
  /**
   * Runs before a message is republished (the order API resets the channel's state
   * here, so the outcome of the replay is never older than the reset). A throw leaves
   * the message in the dead-letter queue.
   */
  readonly beforeRepublish?: (letter: DeadLetter) => Promise<void>;
  /** The republish failed after beforeRepublish ran; the message stays dead-lettered. */
  readonly republishFailed?: (letter: DeadLetter, err: unknown) => Promise<void>;
}

export interface ReplayResult {
  readonly queue: string;
  readonly replayed: readonly DeadLetter[];
  /** Requested ids that were not found in the queue. */
  readonly notFound: readonly string[];
}

const DEFAULT_SAMPLE = 1_000;
const DEFAULT_LIST = 50;
/**
 * Pauses before each look of a replay: about three seconds in all when nothing is found,
 * which covers a quorum queue taking back what a reader let go on a loaded machine.
 */
const REPLAY_LOOKS_MS = [0, 100, 300, 800, 1_600] as const;

interface ReplayWalk {
  readonly topology: ConsumerTopology;
  readonly wanted: ReadonlySet<string> | null;
  readonly limit: number;
  readonly replayed: DeadLetter[];
  readonly found: Set<string>;
  readonly hooks: ReplayHooks;
}
const REPLAY_COUNT_HEADER = 'x-replay-count';
const REPLAYED_AT_HEADER = 'x-replayed-at';
/** Headers about the message's death, ours and the broker's; a replayed message starts clean. */
const DEATH_HEADERS = [
  HEADERS.deathReason,
  HEADERS.deathDetail,
  HEADERS.deathAt,
  HEADERS.originalQueue,
  HEADERS.lastError,
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
];

function header(msg: GetMessage, name: string): unknown {
  return (msg.properties.headers as Record<string, unknown> | undefined)?.[name];
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

function int(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

export function describeDeadLetter(msg: GetMessage): DeadLetter {
  const p = msg.properties;
  return {
    messageId: typeof p.messageId === 'string' ? p.messageId : null,
    correlationId: typeof p.correlationId === 'string' ? p.correlationId : null,
    type: typeof p.type === 'string' ? p.type : null,
    reason: text(header(msg, HEADERS.deathReason)) ?? 'unknown',
    detail: text(header(msg, HEADERS.deathDetail)),
    deadLetteredAt: text(header(msg, HEADERS.deathAt)),
    attempts: int(header(msg, HEADERS.attempt)),
    replays: int(header(msg, REPLAY_COUNT_HEADER)) ?? 0,
  };
}

/**
 * Reads dead-letter queues without consuming them: messages are fetched with
 * `basic.get` on a channel of their own and never acknowledged, so closing the
 * channel puts every one back. Dead-letter queues have no delivery limit, so looking
 * costs nothing but a redelivered flag. `replay` republishes through the consumer's
 * own retry exchange, whose binding for the work queue's name reaches that queue alone (a message is
 * not fanned out again to other bindings of its routing key), with its original
 * message id, so the consumer's idempotency still holds; a fresh attempt budget; and
 * acknowledges the dead-lettered copy only after the broker confirmed the republish.
 */
export class DeadLetterQueues {
  constructor(
    private readonly broker: Broker,
    private readonly publisher: Publisher,
    private readonly options: {
      /**
       * The broker users whose runner dead-letters a consumer's messages (its service's
       * user): their copies' x-published-by is believed. Defaults to this connection's
       * user, which is right when one user runs everything (the local run).
       */
      readonly consumerUsers?: (topology: ConsumerTopology) => readonly string[];
    } = {},
  ) {}

  async summarize(
    topology: ConsumerTopology,
    options: { sampleLimit?: number; listLimit?: number } = {},
  ): Promise<DeadLetterSummary> {
    const queue = topology.deadLetterQueue.name;
    const sampleLimit = options.sampleLimit ?? DEFAULT_SAMPLE;
    const listLimit = options.listLimit ?? DEFAULT_LIST;
    return this.withChannel(async (ch) => {
      const { messageCount } = await ch.checkQueue(queue);
      const letters: DeadLetter[] = [];
      while (letters.length < Math.min(messageCount, sampleLimit)) {
        const msg = await ch.get(queue, { noAck: false });
        if (!msg) break;
        letters.push(describeDeadLetter(msg));
      }
      const reasons = new Map<string, { reason: string; count: number; example: string | null }>();
      let oldest: DeadLetter | null = null;
      for (const l of letters) {
        const r = reasons.get(l.reason) ?? { reason: l.reason, count: 0, example: l.detail };
        r.count++;
        reasons.set(l.reason, r);
        if (!oldest || (l.deadLetteredAt ?? '') < (oldest.deadLetteredAt ?? '')) oldest = l;
      }
      return {
        queue,
        count: messageCount,
        sampled: letters.length,
        oldest,
        reasons: [...reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
        messages: letters.slice(0, listLimit),
      };
    });
  }

  async replay(
    topology: ConsumerTopology,
    selection: ReplaySelection = {},
    hooks: ReplayHooks = {},
  ): Promise<ReplayResult> {
    const queue = topology.deadLetterQueue.name;
    const wanted = selection.messageIds ? new Set(selection.messageIds) : null;
    const walk: ReplayWalk = {
      topology,
      wanted,
      limit: selection.limit ?? Number.POSITIVE_INFINITY,
      replayed: [],
      found: new Set<string>(),
      hooks,
    };
    // A message another reader holds unacknowledged (a summary that just closed its
    // channel, say) is invisible until the queue takes it back, which a quorum queue
    // does a moment later through its log. So when a look finds nothing it was asked
    // for, look again a few times before answering.
    for (const pause of REPLAY_LOOKS_MS) {
      if (pause > 0) await delay(pause);
      await this.withChannel((ch) => this.replayPass(ch, queue, walk));
      const done = wanted ? walk.found.size === wanted.size : walk.replayed.length > 0;
      if (done) break;
    }
    return {
      queue,
      replayed: walk.replayed,
      notFound: wanted ? [...wanted].filter((id) => !walk.found.has(id)) : [],
    };
  }

  /** One walk over the messages ready in the queue, replaying the selected ones. */
  private async replayPass(ch: Channel, queue: string, walk: ReplayWalk): Promise<void> {
    const { wanted, limit, replayed, found, hooks, topology } = walk;
    const trust = identityTrust(topology, this.options.consumerUsers?.(topology) ?? [this.broker.user]);
    const { messageCount } = await ch.checkQueue(queue);
    // Messages not replayed stay unacknowledged until the channel closes, so each
    // basic.get returns a new one and the walk ends after one pass over the queue.
    for (let seen = 0; seen < messageCount && replayed.length < limit; seen++) {
      if (wanted && found.size === wanted.size) break;
      const msg = await ch.get(queue, { noAck: false });
      if (!msg) break;
      const letter = describeDeadLetter(msg);
      if (wanted && !(letter.messageId && wanted.has(letter.messageId))) continue;
      if (letter.messageId) found.add(letter.messageId);
      await hooks.beforeRepublish?.(letter);
      try {
        await this.publisher.publishRaw({
          exchange: topology.retryExchange.name,
          routingKey: topology.workRoutingKey,
          content: msg.content,
          properties: replayProperties(msg, letter, publisherIdentity(msg, trust)),
        });
      } catch (err) {
        await hooks.republishFailed?.(letter, err).catch(() => undefined);
        throw err;
      }
      ch.ack(msg);
      replayed.push(letter);
    }
  }

  private async withChannel<T>(work: (ch: Channel) => Promise<T>): Promise<T> {
    const conn = this.broker.connection();
    if (!conn) throw new BrokerUnavailableError('broker is not connected');
    const ch = await conn.createChannel();
    let failure: Error | null = null;
    ch.on('error', (err: Error) => {
      failure = err;
    });
    try {
      const result = await work(ch);
      if (failure) throw failure;
      return result;
    } finally {
      // Unacknowledged messages go back to the queue, in their order, when the channel closes.
      await ch.close().catch(() => undefined);
    }
  }
}

function replayProperties(
  msg: GetMessage,
  letter: DeadLetter,
  publishedBy: string | undefined,
): Options.Publish {
  const headers = withPublishedBy(msg.properties.headers as Record<string, unknown> | undefined, publishedBy);
  for (const h of DEATH_HEADERS) delete headers[h];
  headers[HEADERS.attempt] = 1;
  headers[REPLAY_COUNT_HEADER] = letter.replays + 1;
  headers[REPLAYED_AT_HEADER] = new Date().toISOString();
  return republishProperties(msg, headers);
}
