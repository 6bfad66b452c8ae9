#!/usr/bin/env node
import { pino } from 'pino';
import { readWhatsappSandboxCliConfig } from './cli-config.js';
import { startWhatsappSandbox } from './whatsapp-sandbox.js';
import type { WhatsappSandbox } from './whatsapp-sandbox.js';

async function main(): Promise<void> {
  const config = readWhatsappSandboxCliConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { service: 'whatsapp-sandbox' } });
  const sandbox: WhatsappSandbox = await startWhatsappSandbox({
    host: config.host,
    port: config.port,
    accountSid: config.accountSid,
    authToken: config.authToken,
    logger,
  });

  console.log(`whatsapp-sandbox  ${sandbox.url}  (use as TWILIO_API_BASE_URL)`);
  console.log(`whatsapp-sandbox  account ${sandbox.accountSid}`);
  console.log(`whatsapp-sandbox  web page ${sandbox.url}/`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means the operator does not want to wait for callbacks to settle.
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    sandbox.close().then(
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
  console.error(`whatsapp-sandbox: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
