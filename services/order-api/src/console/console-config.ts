import { CHANNELS, SERVICE_CATALOGUE } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { loadConfig, makeValidator, num, str } from '@notify/service-kit';

/** Where each consumer service's operations endpoints answer on one machine: its catalogue port. */
export function defaultServiceUrls(host = '127.0.0.1'): Record<Channel, string> {
  return Object.fromEntries(
    CHANNELS.map((c) => [c, `http://${host}:${SERVICE_CATALOGUE[c].port}`]),
  ) as Record<Channel, string>;
}

/**
 * `email=http://host:port,whatsapp=...`: where each consumer service's operations
 * endpoints answer. Services not named keep their default; only http(s) URLs without
 * credentials, path, query or fragment are taken (the console adds /readyz and /metrics).
 */
export const serviceUrlList = makeValidator<Partial<Record<Channel, string>>>((input: string) => {
  const out: Partial<Record<Channel, string>> = {};
  for (const part of input
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq <= 0 || !(CHANNELS as readonly string[]).includes(name)) {
      throw new Error(`each entry must be <service>=<url> with a service of ${CHANNELS.join(', ')}`);
    }
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      throw new Error(`the URL of ${name} is not a URL`);
    }
    if (
      !/^https?:$/.test(u.protocol) ||
      u.username ||
      u.password ||
      u.search ||
      u.hash ||
      u.pathname !== '/'
    ) {
      throw new Error(`the URL of ${name} must be http(s)://host:port with nothing after it`);
    }
    out[name as Channel] = u.origin;
  }
  return out;
});

export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env) {
  const c = loadConfig(
    {
      CONSOLE_ASSETS_DIR: str({
        default: '',
        desc: "Folder of the console's built page (default: the @notify/console package's dist/)",
      }),
      CONSOLE_SERVICE_URLS: serviceUrlList({
        default: {},
        desc: 'Where each service answers /readyz and /metrics: email=http://127.0.0.1:3001,...',
      }),
      CONSOLE_MAX_STREAMS: num({ default: 50, desc: 'Open console live streams per process' }),
      RABBITMQ_MANAGEMENT_URL: str({
        default: '',
        desc: "Broker management API for message rates (optional); credentials default to AMQP_URL's",
      }),
    },
    env,
  );
  return {
    assetsDir: c.CONSOLE_ASSETS_DIR || null,
    serviceUrls: { ...defaultServiceUrls(), ...c.CONSOLE_SERVICE_URLS },
    maxStreams: c.CONSOLE_MAX_STREAMS,
    managementUrl: c.RABBITMQ_MANAGEMENT_URL || null,
  };
}

export type ConsoleConfig = ReturnType<typeof loadConsoleConfig>;
