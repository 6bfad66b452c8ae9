import type { BindingSpec, ExchangeSpec, QueueSpec } from '@notify/contracts';
import type { Channel } from 'amqplib';
import { errorMessage } from './errors.js';

export interface TopologySpec {
  readonly exchanges?: readonly ExchangeSpec[];
  readonly queues?: readonly QueueSpec[];
  readonly bindings?: readonly BindingSpec[];
}

export function mergeTopology(...specs: readonly TopologySpec[]): TopologySpec {
  const exchanges = new Map<string, ExchangeSpec>();
  const queues = new Map<string, QueueSpec>();
  const bindings = new Map<string, BindingSpec>();
  for (const s of specs) {
    for (const e of s.exchanges ?? []) exchanges.set(e.name, e);
    for (const q of s.queues ?? []) queues.set(q.name, q);
    for (const b of s.bindings ?? []) bindings.set(`${b.exchange}\u0000${b.queue}\u0000${b.routingKey}`, b);
  }
  return {
    exchanges: [...exchanges.values()],
    queues: [...queues.values()],
    bindings: [...bindings.values()],
  };
}

/** Declares exchanges, then queues, then bindings. Every declaration is idempotent. */
export async function declareTopology(channel: Channel, spec: TopologySpec): Promise<void> {
  for (const e of spec.exchanges ?? []) {
    const { 'alternate-exchange': alternateExchange, ...rest } = e.arguments as Record<string, unknown>;
    await channel.assertExchange(e.name, e.type, {
      durable: true,
      autoDelete: false,
      ...(typeof alternateExchange === 'string' ? { alternateExchange } : {}),
      arguments: rest,
    });
  }
  for (const q of spec.queues ?? []) {
    await channel.assertQueue(q.name, {
      durable: true,
      autoDelete: false,
      exclusive: false,
      arguments: q.arguments,
    });
  }
  for (const b of spec.bindings ?? []) {
    await channel.bindQueue(b.queue, b.exchange, b.routingKey);
  }
}

/** Opens channels; an amqplib connection is one. */
export interface ChannelOpener {
  createChannel(): Promise<Pick<Channel, 'checkExchange' | 'checkQueue' | 'close' | 'on'>>;
}

/**
 * Checks with passive declares (which need no permission and change nothing) that the
 * spec's exchanges and queues exist; returns what is not there, as `exchange <name>` or
 * `queue <name>` (with the broker's answer when it is not a plain "not found"). Bindings
 * cannot be checked this way. A failed check closes its channel, so the next one opens
 * another.
 */
export async function verifyTopology(conn: ChannelOpener, spec: TopologySpec): Promise<string[]> {
  const missing: string[] = [];
  type Checking = Awaited<ReturnType<ChannelOpener['createChannel']>>;
  let ch: Checking | null = null;
  const open = async () => {
    const c = await conn.createChannel();
    c.on('error', () => {});
    return c;
  };
  const check = async (what: string, run: (c: Checking) => Promise<unknown>) => {
    ch ??= await open();
    try {
      await run(ch);
    } catch (err) {
      ch = null;
      const code = (err as { code?: unknown }).code;
      missing.push(code === 404 ? what : `${what} (${errorMessage(err)})`);
    }
  };
  for (const e of spec.exchanges ?? []) await check(`exchange ${e.name}`, (c) => c.checkExchange(e.name));
  for (const q of spec.queues ?? []) await check(`queue ${q.name}`, (c) => c.checkQueue(q.name));
  const last = ch as Checking | null;
  if (last) await last.close().catch(() => {});
  return missing;
}
