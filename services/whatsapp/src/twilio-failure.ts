import { PermanentError, RetryableError } from '@notify/messaging';

/** Twilio codes that mean "slow down" even when the HTTP status does not say so. */
const THROTTLING_CODES: ReadonlySet<number> = new Set([20429, 63018]);
const AUTHENTICATION_CODE = 20003;

/** Twilio refused the message for good; the order's WhatsApp will not go out without a fix. */
export class WhatsappRejectedError extends PermanentError {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly errorCode: number | undefined,
    /** The account or its credentials are wrong, not this order: an operator must act. */
    readonly configuration: boolean,
    options: { cause?: unknown; detail: string },
  ) {
    super(message, options);
    this.name = 'WhatsappRejectedError';
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
 * Decides the fate of a failed create-message call: 429, 5xx and transport errors are
 * transient and retried with backoff; any other 4xx (invalid number 21211, 21408 region
 * not enabled, 21610 unsubscribed, 63016 outside the session window, ...) is permanent;
 * 401 / 20003 is permanent too, but flagged as a configuration problem.
 */
export function classifyTwilioError(err: unknown): Error {
  const http = asHttpError(err);
  if (http) {
    const code = typeof http.code === 'number' ? http.code : undefined;
    const text = (http.detail ?? http.message ?? '').slice(0, 500);
    const label = `Twilio answered ${http.status}${code !== undefined ? ` with error ${code}` : ''}`;
    if (http.status === 429 || http.status >= 500 || (code !== undefined && THROTTLING_CODES.has(code))) {
      return new RetryableError(`${label}: ${text}`, { cause: err });
    }
    const configuration = http.status === 401 || code === AUTHENTICATION_CODE;
    return new WhatsappRejectedError(
      configuration ? `${label}: Twilio rejected the account credentials` : `${label}: message refused`,
      http.status,
      code,
      configuration,
      { cause: err, detail: `twilio-code=${code ?? 'none'} status=${http.status} ${text}`.trim() },
    );
  }
  if (isTransportError(err)) {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === 'string' ? `${e.code} ` : '';
    return new RetryableError(`no answer from Twilio: ${code}${String(e.message ?? '')}`.trim(), {
      cause: err,
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}
