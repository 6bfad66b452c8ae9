import { preferenceConsumers, preferencesChanged } from '@notify/contracts';
import type { CustomerPreferences, PreferenceChannel } from '@notify/contracts';
import { Fates } from '@notify/messaging';
import type { Pool } from 'pg';
import { serviceConsumer } from './service-consumer.js';
import type { ServiceConsumer } from './service-consumer.js';

// The email and whatsapp services' own copy of customer preferences, in their own schema
// (table `customer_preferences`, created by each service's migrations), kept current from
// the order API's customer.preferences messages. A local copy rather than a call to the
// API at send time: the services need no API credential and keep sending while the API
// is down; the broker carries the change to every copy, also of orders already queued.

export interface Subscriber {
  readonly client: string;
  readonly customerKey: string;
}

/** Whether a subscriber opted out of this service's channel, by the latest version seen. */
export interface PreferenceLookup {
  optedOut(subscriber: Subscriber): Promise<boolean>;
}

export class PgPreferenceCopy implements PreferenceLookup {
  constructor(
    private readonly pool: Pool,
    private readonly channel: PreferenceChannel,
  ) {}

  async optedOut(subscriber: Subscriber): Promise<boolean> {
    const { rows } = await this.pool.query<{ opted_out: boolean }>(
      'SELECT opted_out FROM customer_preferences WHERE client = $1 AND customer_key = $2',
      [subscriber.client, subscriber.customerKey],
    );
    return rows[0]?.opted_out ?? false;
  }

  /**
   * Applies a preferences message when it is newer than what the copy holds; a
   * redelivery or an older version arriving late changes nothing. Returns whether it applied.
   */
  async apply(message: CustomerPreferences): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO customer_preferences AS p (client, customer_key, opted_out, version, updated_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (client, customer_key) DO UPDATE
       SET opted_out = EXCLUDED.opted_out, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
       WHERE p.version < EXCLUDED.version`,
      [
        message.subscriber.client,
        message.subscriber.customerKey,
        message[this.channel].optedOut,
        message.version,
        message.updatedAt,
      ],
    );
    return (rowCount ?? 0) > 0;
  }
}

/** The consumer of `<channel>.preferences`, which keeps the copy current. */
export function preferenceCopyConsumer(channel: PreferenceChannel, copy: PgPreferenceCopy): ServiceConsumer {
  return serviceConsumer({
    topology: preferenceConsumers[channel],
    contracts: [preferencesChanged],
    prefetch: 16,
    handle: async ({ payload, ctx }) => {
      const applied = await copy.apply(payload);
      ctx.logger?.debug(
        { client: payload.subscriber.client, version: payload.version, applied },
        'customer preferences copied',
      );
      return Fates.ack();
    },
  });
}
