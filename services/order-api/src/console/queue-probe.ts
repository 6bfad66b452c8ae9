import type { Broker } from '@notify/messaging';
import { BrokerUnavailableError } from '@notify/messaging';

export interface QueueCount {
  readonly messages: number;
  readonly consumers: number;
}

/**
 * Ready messages and consumers of queues through passive declares (`queue.declare`
 * with passive set): every broker answers them, they need no permission beyond access
 * to the vhost and change nothing. A queue that does not exist closes the channel
 * (404), so the next one is asked on a fresh channel.
 */
export class QueueProbe {
  constructor(private readonly broker: Pick<Broker, 'connection'>) {}

  /** Each queue's count, or null for a queue that does not exist. Throws when the broker is not connected. */
  async count(queues: readonly string[]): Promise<Map<string, QueueCount | null>> {
    const conn = this.broker.connection();
    if (!conn) throw new BrokerUnavailableError('not connected');
    const out = new Map<string, QueueCount | null>();
    let ch: Awaited<ReturnType<typeof conn.createChannel>> | null = null;
    try {
      for (const queue of queues) {
        if (!ch) {
          ch = await conn.createChannel();
          ch.on('error', () => undefined);
        }
        try {
          const ok = await ch.checkQueue(queue);
          out.set(queue, { messages: ok.messageCount, consumers: ok.consumerCount });
        } catch (err) {
          if ((err as { code?: number }).code !== 404) throw err;
          out.set(queue, null);
          ch = null;
        }
      }
    } finally {
      await ch?.close().catch(() => undefined);
    }
    return out;
  }
}
