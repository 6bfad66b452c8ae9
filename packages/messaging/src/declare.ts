import type { BindingSpec, ExchangeSpec, QueueSpec } from '@notify/contracts';
import type { Channel } from 'amqplib';

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
