import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import type { RetryPolicy } from '@notify/messaging';
import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import type { RunningService } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import pino from 'pino';
import type { EmailConfig } from '../config.js';
import { startEmailService } from '../service.js';

/** An email service of a suite's own: its vhost, database and mail catcher. */
export interface EmailSuite {
  readonly vh: TestVhost;
  readonly db: TestDatabase;
  readonly catcher: MailCatcher;
  readonly service: RunningService<EmailConfig>;
  /** A pool on the suite's database, for looking at `email.order_confirmations`. */
  readonly sql: pg.Pool;
  close(): Promise<void>;
}

/** Starts the service and waits until it consumes (its queue and the events exchange exist then). */
export async function startEmailSuite(
  prefix: string,
  options: { env?: Record<string, string>; retry: Partial<RetryPolicy> },
): Promise<EmailSuite> {
  const [vh, db, catcher] = await Promise.all([
    createTestVhost(prefix),
    createTestDatabase(prefix.replace(/-/g, '_')),
    startMailCatcher({ smtpPort: 0, httpPort: 0 }),
  ]);
  const service = await startEmailService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SMTP_URL: catcher.smtpUrl,
      MAIL_FROM: '"Notify Shop" <orders@example.com>',
      ...options.env,
    },
    { logger: pino({ level: 'silent' }), retry: options.retry },
  );
  await service.ready();
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  return {
    vh,
    db,
    catcher,
    service,
    sql,
    async close() {
      await service.stop();
      await sql.end();
      await catcher.close();
      await vh.delete();
      await db.drop();
    },
  };
}
