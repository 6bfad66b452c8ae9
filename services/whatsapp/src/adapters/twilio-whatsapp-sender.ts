import twilio from 'twilio';
import { SendLimiter } from '@notify/service-kit';
import type { SendLimits } from '@notify/service-kit';
import { TWILIO_API_BASE_URL } from '../config.js';
import { SendNotStarted } from '../send-order-whatsapp.js';
import type {
  AcceptedMessage,
  OutboundSms,
  OutboundWhatsapp,
  WhatsappSender,
} from '../send-order-whatsapp.js';
import { classifyTwilioError } from '../twilio-failure.js';

type RequestOptions = Parameters<twilio.RequestClient['request']>[0];

/**
 * The SDK builds absolute `https://api.twilio.com/...` URLs itself and has no base-URL
 * option; its one extension point is the `httpClient`. This client sends whatever the SDK
 * addresses to api.twilio.com to the configured base instead (keeping any path prefix of
 * the base), and leaves other Twilio hosts alone.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(baseUrl: string, options: { timeout?: number } = {}) {
    super({ ...options, keepAlive: true });
    this.base = new URL(baseUrl);
  }

  override request<TData>(opts: RequestOptions & { data?: TData }) {
    return super.request<TData>({ ...opts, uri: rebase(opts.uri, this.base) });
  }
}

export function rebase(uri: string, base: URL): string {
  const target = new URL(uri);
  if (target.origin !== TWILIO_API_BASE_URL) return uri;
  const out = new URL(base.href);
  out.pathname = `${base.pathname.replace(/\/$/, '')}${target.pathname}`;
  out.search = target.search;
  return out.href;
}

export interface TwilioSenderOptions {
  readonly accountSid: string;
  readonly authToken: string;
  /** E.164 sender. */
  readonly from: string;
  /** E.164 SMS sender for the fallback; undefined: no SMS. */
  readonly smsFrom?: string | undefined;
  readonly apiBaseUrl: string;
  readonly timeoutMs: number;
  /** What Twilio allows this account: calls in flight and started per second. */
  readonly limits?: SendLimits;
}

/** WhatsApp addresses are the E.164 number with a channel prefix. */
export const whatsappAddress = (e164: string) => `whatsapp:${e164}`;

/**
 * Sends through the official SDK. The SDK's own 429 auto-retry stays off: retries belong to
 * the consumer runner, whose delays outlast a throttling window and survive a restart.
 */
export class TwilioWhatsappSender implements WhatsappSender {
  private readonly client: twilio.Twilio;
  private readonly from: string;
  private readonly smsFrom: string | undefined;
  private readonly limiter: SendLimiter | undefined;

  constructor(options: TwilioSenderOptions) {
    this.limiter = options.limits ? new SendLimiter(options.limits) : undefined;
    const custom = options.apiBaseUrl.replace(/\/$/, '') !== TWILIO_API_BASE_URL;
    this.client = twilio(options.accountSid, options.authToken, {
      timeout: options.timeoutMs,
      keepAlive: true,
      autoRetry: false,
      ...(custom
        ? { httpClient: new BaseUrlRequestClient(options.apiBaseUrl, { timeout: options.timeoutMs }) }
        : {}),
    });
    this.from = whatsappAddress(options.from);
    this.smsFrom = options.smsFrom;
  }

  /** The fallback: the same Messages API (and account limits), from the SMS sender, without a channel prefix. */
  sendSms(message: OutboundSms, mayStart?: () => boolean): Promise<AcceptedMessage> {
    return this.withinLimits(() => this.sendSmsNow(message), mayStart);
  }

  private async sendSmsNow(message: OutboundSms): Promise<AcceptedMessage> {
    if (!this.smsFrom) throw new Error('no SMS sender is configured (TWILIO_SMS_FROM)');
    try {
      const created = await this.client.messages.create({
        to: message.to,
        from: this.smsFrom,
        body: message.body,
        ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
      });
      return { sid: created.sid, status: created.status };
    } catch (err) {
      throw classifyTwilioError(err);
    }
  }

  /** Sends within Twilio's limits: beyond them, a send waits for its turn rather than being throttled. */
  send(message: OutboundWhatsapp, mayStart?: () => boolean): Promise<AcceptedMessage> {
    return this.withinLimits(() => this.sendNow(message), mayStart);
  }

  /** Runs the call when the limits give it its turn, and only if `mayStart` still agrees then. */
  private withinLimits(
    call: () => Promise<AcceptedMessage>,
    mayStart?: () => boolean,
  ): Promise<AcceptedMessage> {
    const gated = async () => {
      if (mayStart && !mayStart()) {
        throw new SendNotStarted('the send could not start while its claim would outlast the call to Twilio');
      }
      return call();
    };
    return this.limiter ? this.limiter.run(gated) : gated();
  }

  private async sendNow(message: OutboundWhatsapp): Promise<AcceptedMessage> {
    const content =
      message.content.kind === 'template'
        ? {
            contentSid: message.content.contentSid,
            contentVariables: JSON.stringify(message.content.variables),
          }
        : { body: message.content.body };
    try {
      const created = await this.client.messages.create({
        to: whatsappAddress(message.to),
        from: this.from,
        ...content,
        ...(message.statusCallback ? { statusCallback: message.statusCallback } : {}),
      });
      return { sid: created.sid, status: created.status };
    } catch (err) {
      throw classifyTwilioError(err);
    }
  }
}
