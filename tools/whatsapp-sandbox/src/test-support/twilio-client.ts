import twilio from 'twilio';

type RequestOptions = Parameters<twilio.RequestClient['request']>[0];
type RequestClientOptions = ConstructorParameters<typeof twilio.RequestClient>[0];

/**
 * The mechanism services/whatsapp/README.md documents for the WhatsApp service: a RequestClient that sends
 * what the SDK addresses to https://api.twilio.com to another base URL instead.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(baseUrl: string, options?: RequestClientOptions) {
    super(options);
    this.base = new URL(baseUrl);
  }

  override request<TData>(opts: RequestOptions & { data?: TData }) {
    const target = new URL(opts.uri);
    if (target.origin !== 'https://api.twilio.com') return super.request<TData>(opts);
    const redirected = new URL(this.base.href);
    redirected.pathname = `${this.base.pathname.replace(/\/$/, '')}${target.pathname}`;
    redirected.search = target.search;
    return super.request<TData>({ ...opts, uri: redirected.href });
  }
}

export function sandboxClient(baseUrl: string, accountSid: string, authToken: string) {
  return twilio(accountSid, authToken, {
    httpClient: new BaseUrlRequestClient(baseUrl, { timeout: 10_000 }),
  });
}
