/** Twilio codes that mean "slow down" even when the HTTP status does not say so. */
const THROTTLING_CODES: ReadonlySet<number> = new Set([20429, 63018]);
const AUTHENTICATION_CODE = 20003;

/** The recipient unsubscribed from this sender (replied STOP): nothing may go to it. */
export const UNSUBSCRIBED_CODE = 21610;

/**
 * WhatsApp cannot carry the message to this number, though SMS may: 63003 the number is
 * not a WhatsApp user (channel could not find the To address), 63024 invalid recipient,
 * 63016 outside the 24-hour window without a template, 63027 the template does not exist
 * or is not approved for the language, 63032 WhatsApp does not deliver to this user.
 * (Twilio's mapping of WhatsApp's own codes: 1006/1013/1021, 1002/1026, 470, 2001/2003, 472.)
 */
export const SMS_FALLBACK_CODES: ReadonlySet<number> = new Set([63003, 63024, 63016, 63027, 63032]);

/**
 * A failed create-message call, classified: whether trying again later can succeed, and
 * what Twilio said. The adapter throws it; the use case turns it into an outcome
 * (fate.ts maps that to the message's fate).
 */
export class WhatsappDeliveryError extends Error {
  readonly retryable: boolean;
  /** Twilio's HTTP status; undefined when no answer came. */
  readonly httpStatus: number | undefined;
  readonly errorCode: number | undefined;
  /** The account or its credentials are wrong, not this order: an operator must act. */
  readonly configuration: boolean;
  /** Twilio's code, status and text, as they go into a dead letter's headers. */
  readonly detail: string | undefined;

  constructor(
    message: string,
    options: {
      retryable: boolean;
      httpStatus?: number;
      errorCode?: number;
      configuration?: boolean;
      detail?: string;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.name = 'WhatsappDeliveryError';
    this.retryable = options.retryable;
    this.httpStatus = options.httpStatus;
    this.errorCode = options.errorCode;
    this.configuration = options.configuration ?? false;
    this.detail = options.detail;
  }
}

interface TwilioHttpError {
  status: number;
  code?: number;
  message?: string;
  /** RFC 9457 errors (TwilioServiceException) carry the text here. */
  detail?: string;
}

function asHttpError(err: unknown): TwilioHttpError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' && Number.isInteger(status) ? (err as TwilioHttpError) : undefined;
}

/** axios (inside the SDK) rejects only when no HTTP answer came: refused, reset, timed out. */
function isTransportError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { isAxiosError?: unknown; code?: unknown };
  return e.isAxiosError === true || (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code));
}

/**
 * Classifies a failed create-message call: 429, 5xx and transport errors are transient
 * and retried with backoff; any other 4xx (invalid number 21211, 21408 region not
 * enabled, 21610 unsubscribed, 63016 outside the session window, ...) is permanent;
 * 401 / 20003 is permanent too, but flagged as a configuration problem. Anything else is
 * not Twilio's answer and is returned as it is.
 */
export function classifyTwilioError(err: unknown): Error {
  const http = asHttpError(err);
  if (http) {
    const code = typeof http.code === 'number' ? http.code : undefined;
    const text = (http.detail ?? http.message ?? '').slice(0, 500);
    const label = `Twilio answered ${http.status}${code !== undefined ? ` with error ${code}` : ''}`;
    const answer = {
      cause: err,
      httpStatus: http.status,
      ...(code !== undefined ? { errorCode: code } : {}),
      detail: `twilio-code=${code ?? 'none'} status=${http.status} ${text}`.trim(),
    };
    if (http.status === 429 || http.status >= 500 || (code !== undefined && THROTTLING_CODES.has(code))) {
      return new WhatsappDeliveryError(`${label}: ${text}`, { ...answer, retryable: true });
    }
    const configuration = http.status === 401 || code === AUTHENTICATION_CODE;
    return new WhatsappDeliveryError(
      configuration ? `${label}: Twilio rejected the account credentials` : `${label}: message refused`,
      { ...answer, retryable: false, configuration },
    );
  }
  if (isTransportError(err)) {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? `${e.code} ` : '';
    return new WhatsappDeliveryError(`no answer from Twilio: ${code}${String(e.message ?? '')}`.trim(), {
      retryable: true,
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}
