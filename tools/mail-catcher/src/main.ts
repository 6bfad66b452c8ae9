#!/usr/bin/env node
import { pino } from 'pino';
import { readMailCatcherCliConfig } from './cli-config.js';
import { startMailCatcher } from './mail-catcher.js';
import type { MailCatcher } from './mail-catcher.js';

async function main(): Promise<void> {
  const config = readMailCatcherCliConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { service: 'mail-catcher' } });
  const catcher: MailCatcher = await startMailCatcher({
    host: config.host,
    smtpPort: config.smtpPort,
    httpPort: config.httpPort,
    logger,
  });

  console.log(`mail-catcher SMTP  ${catcher.smtpUrl}  (use as SMTP_URL)`);
  console.log(`mail-catcher web   ${catcher.httpUrl}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means the operator does not want to wait for connections to drain.
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    catcher.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'failed to stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`mail-catcher: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
