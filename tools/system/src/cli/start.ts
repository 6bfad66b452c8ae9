// `npm start` at the root: the whole system on a developer's machine, without Docker
// and without Twilio or SMTP accounts. Real providers are used when configured.
import { constants } from 'node:os';
import { SERVICE_LIST } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN, startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import { localOpsPort, localServicePorts } from '../local-ports.js';
import { createLineFormatter, wantsPrettyOutput } from '../log-output.js';
import { checkBroker, checkDatabase, PreflightError } from '../preflight.js';
import type { ReadinessEvent } from '../readiness.js';
import type { ServiceProcess } from '../service-process.js';
import { SANDBOX_SMS_FROM, SANDBOX_WHATSAPP_FROM, startStack } from '../stack.js';
import type { Stack } from '../stack.js';
import { stopSignalPolicy } from '../stop-signals.js';

const env = process.env;
const amqpUrl = env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/notify';
const pretty = wantsPrettyOutput(env);

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line per service as it becomes ready, and one for each that is still waiting now and then. */
function readinessLine(width: number) {
  return (p: ServiceProcess, event: ReadinessEvent) => {
    const name = p.name.padEnd(width);
    say(
      event.ready
        ? `${name} ready after ${seconds(event.afterMs)} (${p.url}${p.opsUrl !== p.url ? `, operations ${p.opsUrl}` : ''}, pid ${p.pid})${event.note ? `; ${event.note}` : ''}`
        : `${name} not ready yet after ${seconds(event.afterMs)}: ${event.reason}`,
    );
  };
}

async function managementUrl(): Promise<string | undefined> {
  const url = env.RABBITMQ_MANAGEMENT_URL ?? `http://${new URL(amqpUrl).hostname}:15672`;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    return r.ok ? url : undefined;
  } catch {
    return undefined;
  }
}

const shutdown = new AbortController();
let starting: Promise<Stack> | undefined;
let stopping = false;

async function stop(code: number, closers: readonly (() => Promise<unknown>)[]) {
  if (stopping) return;
  stopping = true;
  say('stopping every service (draining in-flight work)...');
  // A start still under way stops what it started when aborted, and rejects.
  shutdown.abort();
  const stack = await starting?.catch(() => undefined);
  await stack?.stop();
  for (const close of closers) await close().catch(() => undefined);
  say('stopped');
  process.exit(code);
}

async function main() {
  if (env.NODE_ENV === 'production') {
    throw new PreflightError(
      'npm start runs the development stack with local stand-ins; it refuses NODE_ENV=production',
    );
  }
  const ports = localServicePorts(env);
  await checkBroker(amqpUrl);
  await checkDatabase(databaseUrl);

  let mail: MailCatcher | undefined;
  let sandbox: WhatsappSandbox | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  if (!env.SMTP_URL) {
    mail = await startMailCatcher({
      smtpPort: Number(env.MAIL_CATCHER_SMTP_PORT ?? 1025),
      httpPort: Number(env.MAIL_CATCHER_HTTP_PORT ?? 8025),
    });
    closers.push(() => mail!.close());
  }
  if (!env.TWILIO_API_BASE_URL && !env.TWILIO_AUTH_TOKEN) {
    sandbox = await startWhatsappSandbox({ port: Number(env.WHATSAPP_SANDBOX_PORT ?? 8026) });
    closers.push(() => sandbox!.close());
  }

  const width = Math.max(...SERVICE_LIST.map((s) => s.name.length));
  const formatters = new Map<ServiceName, (line: string) => string>();
  SERVICE_LIST.forEach((s, i) => formatters.set(s.name, createLineFormatter(s.name, i, { pretty, width })));

  // The first Ctrl-C stops the services in order, each draining; its echo from npm is
  // ignored. A second one leaves at once: the services still finish draining on their own,
  // because they watch this process (see preload/exit-with-parent.mjs).
  const request = stopSignalPolicy();
  const onSignal = (signal: NodeJS.Signals) => {
    const what = request();
    if (what === 'stop') void stop(0, closers);
    if (what === 'now') {
      say('leaving now; the services finish draining on their own');
      process.exit(128 + constants.signals[signal]);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal went away: stop as on Ctrl-C, not as an orphan.
  process.on('SIGHUP', onSignal);

  starting = startStack({
    amqpUrl,
    databaseUrl,
    smtpUrl: env.SMTP_URL ?? mail!.smtpUrl,
    mailFrom: env.MAIL_FROM ?? '"Notify Shop" <orders@shop.localhost>',
    twilio: {
      baseUrl: env.TWILIO_API_BASE_URL ?? sandbox?.url ?? 'https://api.twilio.com',
      accountSid: env.TWILIO_ACCOUNT_SID ?? sandbox?.accountSid ?? DEV_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN ?? sandbox?.authToken ?? DEV_AUTH_TOKEN,
      from: env.TWILIO_WHATSAPP_FROM ?? SANDBOX_WHATSAPP_FROM,
      // The sandbox takes SMS too, so the local run shows the fallback (its not-on-WhatsApp number).
      ...((env.TWILIO_SMS_FROM ?? (sandbox ? SANDBOX_SMS_FROM : undefined))
        ? { smsFrom: env.TWILIO_SMS_FROM ?? SANDBOX_SMS_FROM }
        : {}),
    },
    env: pretty ? { LOG_PRETTY: '0' } : {},
    // Real Twilio cannot call 127.0.0.1: with a real account, a public URL (a tunnel) given
    // here is where the callbacks go.
    ...(env.WHATSAPP_STATUS_CALLBACK_URL
      ? { serviceEnv: { whatsapp: { WHATSAPP_STATUS_CALLBACK_URL: env.WHATSAPP_STATUS_CALLBACK_URL } } }
      : {}),
    ports,
    opsPorts: { 'order-api': localOpsPort(env) },
    onLine: (service, line) => say(formatters.get(service)!(line)),
    onReadiness: readinessLine(width),
    signal: shutdown.signal,
  });
  const stack = await starting;

  const mgmt = await managementUrl();
  say('');
  say('The system is running. Where to look:');
  say(`  order API        ${stack.apiUrl}  (POST /orders, GET /orders/:id)`);
  say(`  API docs         ${stack.apiUrl}/docs  (OpenAPI: ${stack.apiUrl}/openapi.json)`);
  say(`  operator console ${stack.apiUrl}/console/`);
  if (mail) say(`  mail catcher     ${mail.httpUrl}  (SMTP ${mail.smtpUrl})`);
  if (sandbox) say(`  WhatsApp sandbox ${sandbox.url}`);
  if (mgmt) say(`  RabbitMQ UI      ${mgmt}`);
  say('  try it           npm run demo');
  say('Press Ctrl-C to stop.');
  say('');

  for (const p of stack.processes.values()) {
    void p.exited().then((code) => {
      if (!stopping) {
        say(`${p.name} exited unexpectedly (code ${code}); stopping the rest`);
        void stop(1, closers);
      }
    });
  }
}

main().catch((err: unknown) => {
  // A Ctrl-C while the services start makes the start fail; stop() is already on it.
  if (stopping) return;
  if (err instanceof PreflightError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`could not start the system: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
