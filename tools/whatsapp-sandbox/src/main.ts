#!/usr/bin/env node
import { runStandInCli } from '@notify/stand-in-kit';
import { pino } from 'pino';
import { readWhatsappSandboxCliConfig } from './cli-config.js';
import { startWhatsappSandbox } from './whatsapp-sandbox.js';

void runStandInCli('whatsapp-sandbox', async () => {
  const config = readWhatsappSandboxCliConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { service: 'whatsapp-sandbox' } });
  const sandbox = await startWhatsappSandbox({
    host: config.host,
    port: config.port,
    accountSid: config.accountSid,
    authToken: config.authToken,
    logger,
  });

  console.log(`whatsapp-sandbox  ${sandbox.url}  (use as TWILIO_API_BASE_URL)`);
  console.log(`whatsapp-sandbox  account ${sandbox.accountSid}`);
  console.log(`whatsapp-sandbox  web page ${sandbox.url}/`);
  return { logger, close: () => sandbox.close() };
});
