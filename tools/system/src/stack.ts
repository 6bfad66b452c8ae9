import type { ReadinessEvent } from './readiness.js';
import { ServiceProcess } from './service-process.js';
import { freePorts } from './tcp-ports.js';
import { SERVICE_LIST } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import type { MailCatcher } from '@notify/mail-catcher';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';

export interface StandInUrls {
  /** SMTP server for the email service. */
  readonly smtpUrl: string;
  readonly mailFrom: string;
  /** Where the Twilio SDK is pointed, with the credentials that server accepts. */
  readonly twilio: {
    readonly baseUrl: string;
    readonly accountSid: string;
    readonly authToken: string;
    readonly from: string;
    /** SMS sender of the fallback when WhatsApp cannot reach a number; absent: no fallback. */
    readonly smsFrom?: string;
  };
}

/** The sender number of Twilio's WhatsApp sandbox, which the local stand-in accepts too. */
export const SANDBOX_WHATSAPP_FROM = '+14155238886';
/** An SMS sender the local stand-in accepts (Twilio's test number; production refuses it). */
export const SANDBOX_SMS_FROM = '+15005550006';

/** What the services need to reach a mail catcher and a WhatsApp sandbox of this process. */
export function standInUrls(
  mail: MailCatcher,
  sandbox: WhatsappSandbox,
  mailFrom = '"Notify Shop" <orders@shop.example>',
): StandInUrls {
  return {
    smtpUrl: mail.smtpUrl,
    mailFrom,
    twilio: {
      baseUrl: sandbox.url,
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      from: SANDBOX_WHATSAPP_FROM,
      smsFrom: SANDBOX_SMS_FROM,
    },
  };
}

/** Variables added to one service's environment. */
export type ServiceEnv = Partial<Record<ServiceName, Readonly<Record<string, string>>>>;

export interface StackOptions extends StandInUrls {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  /** Which services to run (default: all six). */
  readonly services?: readonly ServiceName[];
  readonly ports?: Partial<Record<ServiceName, number>>;
  /**
   * Operations ports of the services that have one apart from their public port (the
   * order API). Default: the catalogue's, or a free one when `ports` moved the others.
   */
  readonly opsPorts?: Partial<Record<ServiceName, number>>;
  /** Added to every service's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Added to one service's environment (wins over everything else). */
  readonly serviceEnv?: ServiceEnv;
  readonly onLine?: (service: ServiceName, line: string) => void;
  /** Hears each service become ready, and why one is not ready yet while it is waited for. */
  readonly onReadiness?: (service: ServiceProcess, event: ReadinessEvent) => void;
  /** Aborting it while the services start stops them all, and startStack rejects. */
  readonly signal?: AbortSignal;
  readonly node?: string;
}

/** The route the whatsapp service takes Twilio's status callbacks on. */
export const WHATSAPP_CALLBACK_PATH = '/twilio/status';

export function environmentFor(name: ServiceName, port: number, o: StackOptions): Record<string, string> {
  const common: Record<string, string> = {
    NODE_ENV: 'development',
    AMQP_URL: o.amqpUrl,
    DATABASE_URL: o.databaseUrl,
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    ...o.env,
  };
  const own: Record<string, string> = {};
  if (name === 'email') {
    own.SMTP_URL = o.smtpUrl;
    own.MAIL_FROM = o.mailFrom;
  }
  if (name === 'whatsapp') {
    own.TWILIO_API_BASE_URL = o.twilio.baseUrl;
    own.TWILIO_ACCOUNT_SID = o.twilio.accountSid;
    own.TWILIO_AUTH_TOKEN = o.twilio.authToken;
    own.TWILIO_WHATSAPP_FROM = o.twilio.from;
    if (o.twilio.smsFrom) own.TWILIO_SMS_FROM = o.twilio.smsFrom;
    own.WHATSAPP_STATUS_CALLBACK_URL = `http://127.0.0.1:${port}${WHATSAPP_CALLBACK_PATH}`;
  }
  return { ...common, ...own, ...o.serviceEnv?.[name] };
}

export interface Stack {
  readonly processes: ReadonlyMap<ServiceName, ServiceProcess>;
  get(name: ServiceName): ServiceProcess;
  readonly apiUrl: string;
  /** Stops every process gracefully, the order API last so it sees the others' last events. */
  stop(): Promise<void>;
}

/**
 * Starts the services as separate processes from their built output and waits until
 * each answers /readyz. Services start in parallel; a failure (or an abort) stops them all.
 */
export async function startStack(options: StackOptions, readyTimeoutMs = 180_000): Promise<Stack> {
  const names = options.services ?? SERVICE_LIST.map((s) => s.name);
  const processes = new Map<ServiceName, ServiceProcess>();
  // The order API's console reads each service's /readyz and /metrics on the port it got
  // (a consumer service's one port is its operations listener).
  const opsUrls = SERVICE_LIST.filter((s) => s.name !== 'order-api' && names.includes(s.name))
    .map((s) => `${s.name}=http://127.0.0.1:${options.ports?.[s.name] ?? s.port}`)
    .join(',');
  for (const s of SERVICE_LIST) {
    if (!names.includes(s.name)) continue;
    const port = options.ports?.[s.name] ?? s.port;
    const opsPort =
      s.opsPort === s.port
        ? undefined
        : (options.opsPorts?.[s.name] ?? (options.ports ? (await freePorts(1))[0] : s.opsPort));
    processes.set(
      s.name,
      new ServiceProcess({
        name: s.name,
        port,
        ...(opsPort !== undefined ? { opsPort } : {}),
        env: {
          ...(s.name === 'order-api' && opsUrls ? { CONSOLE_SERVICE_URLS: opsUrls } : {}),
          ...environmentFor(s.name, port, options),
        },
        ...(options.onLine ? { onLine: (line: string) => options.onLine!(s.name, line) } : {}),
        ...(options.node ? { node: options.node } : {}),
      }),
    );
  }
  const stop = async () => {
    const others = [...processes.values()].filter((p) => p.name !== 'order-api');
    await Promise.all(others.map((p) => p.stop()));
    await processes.get('order-api')?.stop();
  };
  try {
    options.signal?.throwIfAborted();
    const started = Date.now();
    const report = options.onReadiness;
    for (const p of processes.values()) p.start();
    await Promise.all(
      [...processes.values()].map(async (p) => {
        const ready = await p.waitReady(readyTimeoutMs, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(report
            ? { onWaiting: (reason: string, afterMs: number) => report(p, { ready: false, afterMs, reason }) }
            : {}),
        });
        report?.(p, { ...ready, afterMs: Date.now() - started });
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const api = processes.get('order-api');
  return {
    processes,
    get(name) {
      const p = processes.get(name);
      if (!p) throw new Error(`${name} is not part of this stack`);
      return p;
    },
    apiUrl: api?.url ?? '',
    stop,
  };
}
