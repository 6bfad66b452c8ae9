import { LOCALES } from '@notify/contracts';
import type { Locale } from '@notify/contracts';
import {
  bool,
  ConfigError,
  DEV_UNSUBSCRIBE_SECRET,
  loadConfig,
  makeValidator,
  refusePlaceholderSecrets,
  requireInProduction,
  str,
  unsubscribeSecret,
} from '@notify/service-kit';
import { domainOf, parseMailbox } from './mailbox.js';
import type { Mailbox } from './mailbox.js';
import { isLocalMailCatcher, parseSmtpUrl } from './smtp-endpoint.js';
import type { SmtpEndpoint } from './smtp-endpoint.js';

/** The development mail catcher (tools/mail-catcher) on its default port. */
export const DEV_SMTP_URL = 'smtp://127.0.0.1:1025';
export const DEV_MAIL_FROM = '"Notify Shop" <orders@example.com>';

/** The order API's unsubscribe endpoint in the local run. */
export const DEV_UNSUBSCRIBE_URL = 'http://127.0.0.1:3000/unsubscribe';

export interface EmailConfig {
  readonly unsubscribe: { readonly url: string; readonly secret: string };
  readonly smtp: SmtpEndpoint;
  readonly from: Mailbox;
  readonly replyTo: Mailbox | undefined;
  /** Right-hand side of the deterministic Message-ID. */
  readonly messageIdDomain: string;
  readonly defaultLocale: Locale;
  readonly poolSize: number;
  /** Mails handed to the SMTP server per second at most; 0 for no limit. */
  readonly maxPerSecond: number;
  readonly maxMessagesPerConnection: number;
  readonly connectionTimeoutMs: number;
  readonly greetingTimeoutMs: number;
  readonly socketTimeoutMs: number;
  readonly requireTls: boolean;
  readonly sendLeaseMs: number;
}

const positiveInt = makeValidator<number>((input: string) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 1) throw new Error('must be a positive integer');
  return n;
});
const nonNegativeInt = makeValidator<number>((input: string) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 0) throw new Error('must be 0 or a positive integer');
  return n;
});
const smtpUrl = makeValidator<string>((input: string) => {
  parseSmtpUrl(input);
  return input;
});
const mailbox = makeValidator<string>((input: string) => {
  parseMailbox(input);
  return input;
});
const httpUrl = makeValidator<string>((input: string) => {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error('must be an http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http(s) URL');
  return input;
});
const domain = makeValidator<string>((input: string) => {
  if (input && !/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(input))
    throw new Error('must be a domain name');
  return input;
});

/**
 * Reads the email service's variables. In production there is no default for the SMTP
 * server or the sender, and the development mail catcher is refused outright: it would
 * swallow real customers' mail.
 */
export function loadEmailConfig(env: NodeJS.ProcessEnv, nodeEnv: string): EmailConfig {
  const production = nodeEnv === 'production';
  requireInProduction(nodeEnv, {
    SMTP_URL: env.SMTP_URL,
    MAIL_FROM: env.MAIL_FROM,
    UNSUBSCRIBE_URL: env.UNSUBSCRIBE_URL,
    UNSUBSCRIBE_SECRET: env.UNSUBSCRIBE_SECRET,
  });
  const c = loadConfig(
    {
      SMTP_URL: smtpUrl({ default: DEV_SMTP_URL, desc: 'SMTP server, smtp://[user:pass@]host:port' }),
      MAIL_FROM: mailbox({ default: DEV_MAIL_FROM, desc: 'Sender, "Name" <address>' }),
      MAIL_REPLY_TO: mailbox({ default: undefined, desc: 'Reply-To, if replies go elsewhere' }),
      MAIL_MESSAGE_ID_DOMAIN: domain({ default: '', desc: 'Message-ID domain (default: MAIL_FROM domain)' }),
      MAIL_DEFAULT_LOCALE: str({ choices: [...LOCALES], default: 'en-GB' }),
      SMTP_POOL_SIZE: positiveInt({ default: 10, desc: 'Concurrent SMTP connections' }),
      SMTP_MAX_PER_SECOND: nonNegativeInt({
        default: 0,
        desc: "Mails sent per second at most (the relay's limit); 0 for no limit",
      }),
      SMTP_MAX_MESSAGES_PER_CONNECTION: positiveInt({ default: 100 }),
      SMTP_CONNECTION_TIMEOUT_MS: positiveInt({ default: 10_000 }),
      SMTP_GREETING_TIMEOUT_MS: positiveInt({ default: 10_000 }),
      SMTP_SOCKET_TIMEOUT_MS: positiveInt({ default: 30_000 }),
      // Credentials must not cross the network in the clear in production.
      SMTP_REQUIRE_TLS: bool({ default: production }),
      SMTP_SEND_LEASE_MS: positiveInt({ default: 120_000, desc: 'How long a send claim is held' }),
      UNSUBSCRIBE_URL: httpUrl({
        default: DEV_UNSUBSCRIBE_URL,
        desc: "The order API's public /unsubscribe URL, put in every mail's List-Unsubscribe header",
      }),
      UNSUBSCRIBE_SECRET: unsubscribeSecret({
        default: DEV_UNSUBSCRIBE_SECRET,
        desc: "HMAC key of the unsubscribe links: the order API's UNSUBSCRIBE_SECRET",
      }),
    },
    env,
  );
  refusePlaceholderSecrets(nodeEnv, { UNSUBSCRIBE_SECRET: c.UNSUBSCRIBE_SECRET });
  if (production && new URL(c.UNSUBSCRIBE_URL).protocol !== 'https:') {
    throw new ConfigError({
      UNSUBSCRIBE_URL: 'must be https in production (mail clients refuse plain http)',
    });
  }

  const smtp = parseSmtpUrl(c.SMTP_URL);
  if (production && isLocalMailCatcher(smtp)) {
    throw new ConfigError({
      SMTP_URL: 'points at the development mail catcher, which is refused with NODE_ENV=production',
    });
  }
  // The lease must outlast one whole SMTP conversation, or a second worker could take
  // over a send that is still running and deliver the mail twice.
  const longestSend =
    c.SMTP_CONNECTION_TIMEOUT_MS + c.SMTP_GREETING_TIMEOUT_MS + 2 * c.SMTP_SOCKET_TIMEOUT_MS;
  if (c.SMTP_SEND_LEASE_MS <= longestSend) {
    throw new ConfigError({
      SMTP_SEND_LEASE_MS: `must be longer than connection + greeting + 2 x socket timeout (${longestSend} ms)`,
    });
  }
  const from = parseMailbox(c.MAIL_FROM);
  return {
    unsubscribe: { url: c.UNSUBSCRIBE_URL, secret: c.UNSUBSCRIBE_SECRET },
    smtp,
    from,
    replyTo: c.MAIL_REPLY_TO ? parseMailbox(c.MAIL_REPLY_TO) : undefined,
    messageIdDomain: c.MAIL_MESSAGE_ID_DOMAIN || domainOf(from.address),
    defaultLocale: c.MAIL_DEFAULT_LOCALE as Locale,
    poolSize: c.SMTP_POOL_SIZE,
    maxPerSecond: c.SMTP_MAX_PER_SECOND,
    maxMessagesPerConnection: c.SMTP_MAX_MESSAGES_PER_CONNECTION,
    connectionTimeoutMs: c.SMTP_CONNECTION_TIMEOUT_MS,
    greetingTimeoutMs: c.SMTP_GREETING_TIMEOUT_MS,
    socketTimeoutMs: c.SMTP_SOCKET_TIMEOUT_MS,
    requireTls: c.SMTP_REQUIRE_TLS,
    sendLeaseMs: c.SMTP_SEND_LEASE_MS,
  };
}
