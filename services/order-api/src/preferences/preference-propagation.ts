import { preferencesChanged } from '@notify/contracts';
import type { CustomerPreferences } from '@notify/contracts';
import { errorMessage } from '@notify/messaging';
import type { Publisher } from '@notify/messaging';
import type { Logger } from '@notify/service-kit';
import type { PreferenceRecord, PreferenceRepository } from '../adapters/preference-repository.js';

export function preferencesMessage(record: PreferenceRecord): CustomerPreferences {
  return {
    subscriber: { client: record.client, customerKey: record.customerKey },
    email: { optedOut: record.email.optedOut },
    whatsapp: { optedOut: record.whatsapp.optedOut },
    version: record.version,
    updatedAt: record.updatedAt.toISOString(),
  };
}

/**
 * Gets every change of a customer's preferences to the email and whatsapp services'
 * copies: published (confirmed) right after it is stored, and, when the broker is away,
 * again by a sweep every `intervalMs` until the broker confirms it. The message is the
 * whole record with its version, so publishing it twice is harmless.
 */
export class PreferencePropagation {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly repository: PreferenceRepository,
    private readonly publisher: Pick<Publisher, 'publish'>,
    private readonly logger: Logger,
    private readonly intervalMs = 5_000,
  ) {}

  /** Publishes a stored change; a failure is logged and left to the sweep. */
  async publish(record: PreferenceRecord): Promise<boolean> {
    try {
      await this.publisher.publish(preferencesChanged, preferencesMessage(record), {
        messageId: `${record.client}:${record.customerKey}:v${record.version}`,
      });
      await this.repository.markPublished(record.client, record.customerKey, record.version);
      return true;
    } catch (err) {
      this.logger.warn(
        { err: errorMessage(err), client: record.client, version: record.version },
        'preference change not published yet; the sweep publishes it again',
      );
      return false;
    }
  }

  /** One pass over what is not confirmed yet. */
  async sweep(): Promise<void> {
    const pending = await this.repository.unpublished(100);
    for (const record of pending) {
      if (!(await this.publish(record))) return;
    }
  }

  start(): void {
    const tick = () => {
      this.sweeping = this.sweep()
        .catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'preference sweep failed'))
        .finally(() => {
          this.sweeping = null;
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    const t = this.timer;
    this.timer = null;
    if (t) clearTimeout(t);
    await this.sweeping;
  }
}
