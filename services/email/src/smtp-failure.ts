/**
 * A failed SMTP send, classified: whether trying again later can succeed, and what the
 * server said. The adapter throws it; the use case turns it into an outcome (fate.ts maps
 * that to the message's fate).
 */
export class MailDeliveryError extends Error {
  readonly retryable: boolean;
  readonly responseCode: number | undefined;
  /** The server's reply line, e.g. `550 5.1.1 mailbox unavailable`. */
  readonly smtpResponse: string | undefined;
  /** nodemailer's error code (ECONNECTION, EENVELOPE, ...) or the system one. */
  readonly code: string | undefined;
  /**
   * No answer came from the server at all (refused, reset, timed out, name not found):
   * the server is away, which is no message's fault. Always retryable.
   */
  readonly unreachable: boolean;

  constructor(
    message: string,
    options: {
      retryable: boolean;
      responseCode?: number;
      smtpResponse?: string;
      code?: string;
      unreachable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = 'MailDeliveryError';
    this.unreachable = options.unreachable ?? false;
    this.retryable = options.retryable || this.unreachable;
    this.responseCode = options.responseCode;
    this.smtpResponse = options.smtpResponse;
    this.code = options.code;
  }
}

/** The fields nodemailer (and Node's net module below it) put on their errors. */
interface SmtpErrorShape {
  message?: unknown;
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  timeoutType?: unknown;
}

// Failures of the way to the server, not of the message: another attempt can succeed.
const NETWORK_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

// Failures of our own set-up (credentials, TLS): every message would fail alike, the
// message itself is fine. Retried, so the mail goes out once the configuration is fixed
// instead of every order of the outage landing in the dead-letter queue at once.
const CONFIGURATION_CODES = new Set(['EAUTH', 'ETLS', 'EREQUIRETLS']);

// Client-side refusals with no server reply: the message can never be sent as it is.
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

/**
 * SMTP 4xx and network trouble are transient; 5xx is permanent (RFC 5321 4.2.1), except
 * 503 (bad command sequence, a client/server state problem) and authentication or TLS
 * failures, which are about our configuration rather than this message.
 */
export function classifySmtpError(err: unknown): MailDeliveryError {
  if (err instanceof MailDeliveryError) return err;
  const e: SmtpErrorShape = typeof err === 'object' && err !== null ? (err as SmtpErrorShape) : {};
  const code = str(e.code);
  const originalCode = str(e.originalCode);
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const smtpResponse = str(e.response);
  const command = str(e.command);
  const base = str(e.message) ?? String(err);
  const at = command ? ` at ${command}` : '';
  const common = {
    cause: err,
    ...(code ? { code: originalCode ?? code } : {}),
    ...(responseCode !== undefined ? { responseCode } : {}),
    ...(smtpResponse ? { smtpResponse } : {}),
  };

  if (code && CONFIGURATION_CODES.has(code)) {
    return new MailDeliveryError(`SMTP ${code}${at}: ${base}`, { ...common, retryable: true });
  }
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    return new MailDeliveryError(`SMTP server deferred the message${at}: ${smtpResponse ?? base}`, {
      ...common,
      retryable: true,
    });
  }
  if (responseCode !== undefined && responseCode >= 500 && responseCode < 600) {
    if (responseCode === 503 || responseCode === 530) {
      return new MailDeliveryError(`SMTP server refused the session${at}: ${smtpResponse ?? base}`, {
        ...common,
        retryable: true,
      });
    }
    return new MailDeliveryError(`SMTP server rejected the message${at} with ${responseCode}`, {
      ...common,
      retryable: false,
    });
  }
  if ((code && NETWORK_CODES.has(code)) || (originalCode && NETWORK_CODES.has(originalCode))) {
    const what = str(e.timeoutType) ?? originalCode ?? code;
    return new MailDeliveryError(`SMTP server unreachable (${what}): ${base}`, {
      ...common,
      retryable: true,
      unreachable: true,
    });
  }
  if (code && MESSAGE_CODES.has(code)) {
    return new MailDeliveryError(`message cannot be sent${at}: ${base}`, { ...common, retryable: false });
  }
  return new MailDeliveryError(`SMTP send failed: ${base}`, { ...common, retryable: true });
}
