#!/usr/bin/env node
import { runStandInCli } from '@notify/stand-in-kit';
import { pino } from 'pino';
import { readMailCatcherCliConfig } from './cli-config.js';
import { startMailCatcher } from './mail-catcher.js';

void runStandInCli('mail-catcher', async () => {
  const config = readMailCatcherCliConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { service: 'mail-catcher' } });
  const catcher = await startMailCatcher({
    host: config.host,
    smtpPort: config.smtpPort,
    httpPort: config.httpPort,
    logger,
  });

  console.log(`mail-catcher SMTP  ${catcher.smtpUrl}  (use as SMTP_URL)`);
  console.log(`mail-catcher web   ${catcher.httpUrl}`);
  return { logger, close: () => catcher.close() };
});
