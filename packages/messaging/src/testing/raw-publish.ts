import amqplib from 'amqplib';
import type { Options } from 'amqplib';

/** One message as raw amqplib publishes it. */
export interface RawMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  /** Publish options; `messageId` is set per publish, `persistent` and `mandatory` are always on. */
  readonly properties?: Options.Publish;
}

export interface RawPublishResult {
  /** Messages the broker confirmed. */
  readonly messages: number;
  readonly seconds: number;
  readonly messagesPerSecond: number;
  /** CPU this process spent publishing (user + system), per confirmed message, in ms. */
  readonly clientCpuMsPerMessage: number;
}

/**
 * The broker's limit for a set of messages: raw amqplib on one confirm channel publishing
 * `messages` over and over (persistent, mandatory, a fresh message id each) for `seconds`,
 * with at most `maxInFlight` unconfirmed. What a benchmark compares its own rate with.
 * The caller purges what lands in the queues.
 */
export async function rawConfirmedPublish(
  url: string,
  messages: readonly RawMessage[],
  { seconds, maxInFlight = 1000 }: { seconds: number; maxInFlight?: number },
): Promise<RawPublishResult> {
  if (messages.length === 0) throw new Error('rawConfirmedPublish: no messages');
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createConfirmChannel();
    let inFlight = 0;
    let confirmed = 0;
    let seq = 0;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = Date.now() + seconds * 1000;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (inFlight < maxInFlight && Date.now() < deadline) {
          const m = messages[seq % messages.length]!;
          seq++;
          inFlight++;
          const ok = ch.publish(
            m.exchange,
            m.routingKey,
            m.content,
            { ...m.properties, persistent: true, mandatory: true, messageId: `raw-${seq}:${m.routingKey}` },
            (err) => {
              inFlight--;
              if (err) return reject(err instanceof Error ? err : new Error(String(err)));
              confirmed++;
              if (Date.now() >= deadline && inFlight === 0) resolve();
              else if (inFlight < maxInFlight / 2) setImmediate(pump);
            },
          );
          if (!ok) {
            ch.once('drain', pump);
            return;
          }
        }
        if (inFlight === 0) resolve();
      };
      pump();
    });
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    await ch.close();
    return {
      messages: confirmed,
      seconds: elapsed,
      messagesPerSecond: confirmed / elapsed,
      clientCpuMsPerMessage: (cpu.user + cpu.system) / 1000 / Math.max(1, confirmed),
    };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
