import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import { SERVICE_NAMES } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import pg from 'pg';
import { freePortsFor } from '../tcp-ports.js';
import { OrderApiClient } from '../order-client.js';
import { standInUrls, startStack } from '../stack.js';
import type { ServiceEnv, Stack } from '../stack.js';

/** Where tests put what a person may want to look at afterwards (screenshots); git-ignored. */
export const OUTPUT_DIR = fileURLToPath(new URL('../../.out/', import.meta.url));

export function outputDir(name: string): string {
  const dir = `${OUTPUT_DIR}${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface LocalSystem {
  readonly vhost: TestVhost;
  readonly database: TestDatabase;
  readonly mail: MailCatcher;
  readonly sandbox: WhatsappSandbox;
  readonly stack: Stack;
  readonly api: OrderApiClient;
  /** A pool on the system's database, for reading the services' schemas. */
  readonly db: pg.Pool;
  /** Every output line of a service so far. */
  logs(service: ServiceName): readonly string[];
  /** The service's /metrics as text. */
  metrics(service: ServiceName): Promise<string>;
  close(): Promise<void>;
}

export interface LocalSystemOptions {
  readonly prefix: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly serviceEnv?: ServiceEnv;
}

/**
 * The whole system as `npm start` runs it, isolated for one test file: its own vhost,
 * database, mail catcher and WhatsApp sandbox (on ephemeral ports), and the six services
 * as processes from their built output on ports that were free a moment ago.
 */
export async function startLocalSystem(options: LocalSystemOptions): Promise<LocalSystem> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  const lines = new Map<ServiceName, string[]>(SERVICE_NAMES.map((name) => [name, []]));
  try {
    const vhost = await createTestVhost(options.prefix);
    closers.push(() => vhost.delete());
    const database = await createTestDatabase(options.prefix.replace(/-/g, '_'));
    closers.push(() => database.drop());
    const mail = await startMailCatcher();
    closers.push(() => mail.close());
    const sandbox = await startWhatsappSandbox();
    closers.push(() => sandbox.close());
    const stack = await startStack({
      amqpUrl: vhost.url,
      databaseUrl: database.url,
      ...standInUrls(mail, sandbox),
      ports: await freePortsFor(SERVICE_NAMES),
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...options.env },
      ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
      onLine: (service, line) => lines.get(service)!.push(line),
    });
    closers.push(() => stack.stop());
    const db = new pg.Pool({ connectionString: database.url, max: 4 });
    closers.push(() => db.end());
    return {
      vhost,
      database,
      mail,
      sandbox,
      stack,
      api: new OrderApiClient(stack.apiUrl),
      db,
      logs: (service) => lines.get(service) ?? [],
      async metrics(service) {
        const r = await fetch(`${stack.get(service).opsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
        return r.text();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Sum of a Prometheus counter's samples whose labels include all of `labels`. */
export function counterValue(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const found = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total += Number(m[2]);
  }
  return total;
}
