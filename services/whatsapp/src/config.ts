import { LOCALES } from '@notify/contracts';
import type { Locale } from '@notify/contracts';
import {
  ConfigError,
  isPlaceholderSecret,
  loadConfig,
  makeValidator,
  num,
  requireInProduction,
  str,
  url,
} from '@notify/service-kit';
import type { CommonConfig, SendLimits } from '@notify/service-kit';

export const TWILIO_API_BASE_URL = 'https://api.twilio.com';
/** Where the WhatsApp sandbox (tools/whatsapp-sandbox) listens on a developer's machine. */
export const SANDBOX_API_BASE_URL = 'http://127.0.0.1:8026';
/**
 * The sandbox's fixed development account. Spelled here rather than imported because the
 * sandbox is a development tool and must not become a runtime dependency of the service.
 */
export const SANDBOX_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const SANDBOX_AUTH_TOKEN = 'sandbox-dev-auth-token-not-secret';
export const SANDBOX_WHATSAPP_FROM = '+15005550006';
/** A syntactically valid content SID the sandbox accepts; real Twilio has no such template. */
export const SANDBOX_CONTENT_SID = `HX${'0'.repeat(32)}`;

export const STATUS_CALLBACK_PATH = '/twilio/status';
/** Incoming messages (STOP / START) from Twilio's messaging webhook. */
export const INBOUND_PATH = '/twilio/inbound';
/** The sandbox's SMS sender for the fallback (Twilio's magic test number, refused in production). */
export const SANDBOX_SMS_FROM = '+15005550006';

export const WHATSAPP_MODES = ['template', 'session'] as const;
export type WhatsappMode = (typeof WHATSAPP_MODES)[number];

const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;
const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;
const CONTENT_SID_PATTERN = /^HX[0-9a-fA-F]{32}$/;

/**
 * The sender in E.164. Twilio's console and documentation show it with its channel
 * prefix (`whatsapp:+14155238886`), so that form is accepted too and stored bare; the
 * sender adds the prefix back.
 */
const whatsappSender = makeValidator<string>((input: string) => {
  const bare = input.startsWith('whatsapp:') ? input.slice('whatsapp:'.length) : input;
  if (!E164_PATTERN.test(bare))
    throw new Error('must be a phone number in E.164 form, like +14155238886 or whatsapp:+14155238886');
  return bare;
});

const e164Sender = makeValidator<string>((input: string) => {
  if (!E164_PATTERN.test(input)) throw new Error('must be a phone number in E.164 form, like +14155238886');
  return input;
});

const contentSid = makeValidator<string>((input: string) => {
  if (input !== '' && !CONTENT_SID_PATTERN.test(input))
    throw new Error('must be a Content SID: HX followed by 32 hex digits');
  return input;
});

/** `de-DE=HX…,fr-FR=HX…`: one approved template per language, where the business has them. */
const contentSidsByLocale = makeValidator<Partial<Record<Locale, string>>>((input: string) => {
  const out: Partial<Record<Locale, string>> = {};
  for (const entry of input.split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const [locale, sid, ...rest] = trimmed.split('=').map((s) => s.trim());
    if (rest.length || !locale || !sid) throw new Error('must be a list like de-DE=HX…,fr-FR=HX…');
    if (!(LOCALES as readonly string[]).includes(locale))
      throw new Error(`has an unknown locale; known: ${LOCALES.join(', ')}`);
    if (!CONTENT_SID_PATTERN.test(sid))
      throw new Error('has a value that is not a Content SID (HX + 32 hex)');
    out[locale as Locale] = sid;
  }
  return out;
});

export interface WhatsappConfig {
  readonly accountSid: string;
  /** Never logged. */
  readonly authToken: string;
  /** E.164; sent as `whatsapp:+…`. */
  readonly from: string;
  readonly apiBaseUrl: string;
  /** True when the service talks to the local sandbox with its development account. */
  readonly usingSandbox: boolean;
  readonly mode: WhatsappMode;
  readonly contentSid: string;
  readonly contentSidsByLocale: Partial<Record<Locale, string>>;
  /** The public URL Twilio posts status callbacks to; undefined = this process's own address (development). */
  readonly statusCallbackUrl: string | undefined;
  /** The public URL of the incoming-message webhook (what Twilio signs); undefined: beside the status callback URL. */
  readonly inboundUrl: string | undefined;
  /** E.164 SMS sender for the fallback when WhatsApp cannot reach a number; undefined: no fallback. */
  readonly smsFrom: string | undefined;
  readonly requestTimeoutMs: number;
  /** How long a send's claim keeps the order's other deliveries from sending. */
  readonly sendLeaseMs: number;
  /** Calls to Twilio in flight at once, and started per second at most (0: no limit). */
  readonly limits: SendLimits;
}

function isLocalHost(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    host === '0.0.0.0' ||
    /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * Reads the service's variables. In production every Twilio credential must be given and
 * the local sandbox is refused; elsewhere a missing account falls back to the sandbox, so a
 * newcomer's `npm start` sends to the stand-in and never to a real phone.
 */
export function loadWhatsappConfig(
  env: NodeJS.ProcessEnv,
  common: Pick<CommonConfig, 'NODE_ENV'>,
): WhatsappConfig {
  const production = common.NODE_ENV === 'production';
  requireInProduction(common.NODE_ENV, {
    TWILIO_ACCOUNT_SID: env.TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: env.TWILIO_AUTH_TOKEN,
    TWILIO_WHATSAPP_FROM: env.TWILIO_WHATSAPP_FROM,
    WHATSAPP_STATUS_CALLBACK_URL: env.WHATSAPP_STATUS_CALLBACK_URL,
    ...(env.WHATSAPP_MODE === 'session' ? {} : { TWILIO_CONTENT_SID: env.TWILIO_CONTENT_SID }),
  });

  // A developer with a real account talks to Twilio; without one, to the sandbox.
  const sandboxDefaults = !production && !env.TWILIO_ACCOUNT_SID;
  const c = loadConfig(
    {
      TWILIO_ACCOUNT_SID: sandboxDefaults ? str({ default: SANDBOX_ACCOUNT_SID }) : str(),
      TWILIO_AUTH_TOKEN: sandboxDefaults ? str({ default: SANDBOX_AUTH_TOKEN }) : str(),
      TWILIO_WHATSAPP_FROM: sandboxDefaults
        ? whatsappSender({ default: SANDBOX_WHATSAPP_FROM })
        : whatsappSender(),
      TWILIO_API_BASE_URL: url({ default: sandboxDefaults ? SANDBOX_API_BASE_URL : TWILIO_API_BASE_URL }),
      WHATSAPP_MODE: str({ choices: [...WHATSAPP_MODES], default: 'template' }),
      TWILIO_CONTENT_SID: contentSid({ default: '' }),
      TWILIO_CONTENT_SIDS: contentSidsByLocale({ default: {} }),
      WHATSAPP_STATUS_CALLBACK_URL: url({ default: undefined }),
      WHATSAPP_INBOUND_URL: url({
        default: undefined,
        desc: `Public URL of ${INBOUND_PATH} as Twilio calls it (default: the status callback URL's origin)`,
      }),
      TWILIO_SMS_FROM: e164Sender({
        default: sandboxDefaults ? SANDBOX_SMS_FROM : undefined,
        desc: 'SMS sender (E.164) for the fallback when WhatsApp cannot reach a number; unset: no SMS',
      }),
      TWILIO_REQUEST_TIMEOUT_MS: num({ default: 15_000 }),
      WHATSAPP_SEND_LEASE_MS: num({
        default: 120_000,
        desc: "How long a send's claim keeps the order's other deliveries from sending",
      }),
      TWILIO_CONCURRENCY: num({ default: 8, desc: 'Calls to Twilio in flight at once' }),
      // Twilio's default WhatsApp sender throughput is 80 messages per second.
      TWILIO_MAX_PER_SECOND: num({
        default: 80,
        desc: 'Calls to Twilio started per second at most; 0 for no limit',
      }),
    },
    env,
  );

  const problems: Record<string, string> = {};
  if (!ACCOUNT_SID_PATTERN.test(c.TWILIO_ACCOUNT_SID))
    problems.TWILIO_ACCOUNT_SID = 'is invalid (must be AC followed by 32 hex digits)';
  if (production && isLocalHost(c.TWILIO_API_BASE_URL))
    problems.TWILIO_API_BASE_URL = 'points at a local sandbox, which is refused with NODE_ENV=production';
  if (production && c.TWILIO_ACCOUNT_SID === SANDBOX_ACCOUNT_SID)
    problems.TWILIO_ACCOUNT_SID =
      "is the sandbox's development account, which is refused with NODE_ENV=production";
  // Example and sandbox credentials never reach Twilio from production (CHANGE-ME, the
  // sandbox's token, Twilio's magic test number).
  if (production) {
    for (const name of [
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_WHATSAPP_FROM',
      'TWILIO_SMS_FROM',
    ] as const) {
      if (!problems[name] && isPlaceholderSecret(env[name]))
        problems[name] =
          'is an example placeholder or sandbox value, which is refused with NODE_ENV=production';
    }
  }
  const usingSandbox = isLocalHost(c.TWILIO_API_BASE_URL) && c.TWILIO_ACCOUNT_SID === SANDBOX_ACCOUNT_SID;
  let content = c.TWILIO_CONTENT_SID;
  if (c.WHATSAPP_MODE === 'template' && !content) {
    if (usingSandbox) content = SANDBOX_CONTENT_SID;
    else problems.TWILIO_CONTENT_SID = 'is required when WHATSAPP_MODE=template';
  }
  if (c.TWILIO_REQUEST_TIMEOUT_MS <= 0) problems.TWILIO_REQUEST_TIMEOUT_MS = 'must be positive';
  // A call starts only while the claim outlasts it by its timeout and a margin (up to 5 s),
  // so the lease must leave room for the call and for waiting its turn within the limits.
  else if (!(c.WHATSAPP_SEND_LEASE_MS >= 2 * c.TWILIO_REQUEST_TIMEOUT_MS + 5_000))
    problems.WHATSAPP_SEND_LEASE_MS = 'must be at least twice TWILIO_REQUEST_TIMEOUT_MS plus 5000';
  if (!Number.isInteger(c.TWILIO_CONCURRENCY) || c.TWILIO_CONCURRENCY < 1)
    problems.TWILIO_CONCURRENCY = 'must be a positive integer';
  if (!(c.TWILIO_MAX_PER_SECOND >= 0)) problems.TWILIO_MAX_PER_SECOND = 'must be 0 (no limit) or more';
  if (Object.keys(problems).length) throw new ConfigError(problems);

  return {
    accountSid: c.TWILIO_ACCOUNT_SID,
    authToken: c.TWILIO_AUTH_TOKEN,
    from: c.TWILIO_WHATSAPP_FROM,
    apiBaseUrl: c.TWILIO_API_BASE_URL,
    usingSandbox,
    mode: c.WHATSAPP_MODE as WhatsappMode,
    contentSid: content,
    contentSidsByLocale: c.TWILIO_CONTENT_SIDS,
    statusCallbackUrl: c.WHATSAPP_STATUS_CALLBACK_URL,
    inboundUrl:
      c.WHATSAPP_INBOUND_URL ??
      (c.WHATSAPP_STATUS_CALLBACK_URL
        ? new URL(INBOUND_PATH, c.WHATSAPP_STATUS_CALLBACK_URL).href
        : undefined),
    smsFrom: c.TWILIO_SMS_FROM,
    requestTimeoutMs: c.TWILIO_REQUEST_TIMEOUT_MS,
    sendLeaseMs: c.WHATSAPP_SEND_LEASE_MS,
    limits: { concurrency: c.TWILIO_CONCURRENCY, perSecond: c.TWILIO_MAX_PER_SECOND },
  };
}
