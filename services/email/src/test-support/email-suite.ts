import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import type { PausePolicy, RetryPolicy } from '@notify/messaging';
import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import type { RunningService } from '@notify/service-kit';
import { createTestDatabase, TcpProxy } from '@notify/service-kit/testing';
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
  /** Between the service and the catcher, when the suite asked for one (`proxySmtp`). */
  readonly smtpProxy: TcpProxy | undefined;
  readonly service: RunningService<EmailConfig>;
  /** A pool on the suite's database, for looking at `email.order_confirmations`. */
  readonly sql: pg.Pool;
  close(): Promise<void>;
}

/** Starts the service and waits until it consumes (its queue and the events exchange exist then). */
export async function startEmailSuite(
  prefix: string,
  options: {
    env?: Record<string, string>;
    retry: Partial<RetryPolicy>;
    pause?: Partial<PausePolicy>;
    /** Reach the catcher through a TCP proxy the test can cut (an SMTP outage). */
    proxySmtp?: boolean;
  },
): Promise<EmailSuite> {
  const [vh, db, catcher] = await Promise.all([
    createTestVhost(prefix),
    createTestDatabase(prefix.replace(/-/g, '_')),
    startMailCatcher({ smtpPort: 0, httpPort: 0 }),
  ]);
  const smtpProxy = options.proxySmtp
    ? await TcpProxy.start({ host: '127.0.0.1', port: catcher.smtpPort })
    : undefined;
  const smtpUrl = smtpProxy ? `smtp://127.0.0.1:${smtpProxy.port}` : catcher.smtpUrl;
  const service = await startEmailService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SMTP_URL: smtpUrl,
      MAIL_FROM: '"Notify Shop" <orders@example.com>',
      ...options.env,
    },
    {
      logger: pino({ level: 'silent' }),
      retry: options.retry,
      ...(options.pause ? { pause: options.pause } : {}),
    },
  );
  await service.ready();
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  return {
    vh,
    db,
    catcher,
    smtpProxy,
    service,
    sql,
    async close() {
      await service.stop();
      await sql.end();
      await smtpProxy?.cut();
      await catcher.close();
      await vh.delete();
      await db.drop();
    },
  };
}
