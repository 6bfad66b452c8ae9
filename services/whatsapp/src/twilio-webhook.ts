import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import twilio from 'twilio';

/** Twilio's webhooks are a few dozen short fields; anything much larger is not one. */
export const CALLBACK_BODY_LIMIT = 16 * 1024;

export type FormParams = Record<string, string | string[]>;

/** A name sent more than once becomes a list, which is how Twilio signs it too. */
export function parseForm(body: string): FormParams {
  const params: FormParams = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = params[name];
    if (previous === undefined) params[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else params[name] = [previous, value];
  }
  return params;
}

export function singleValues(params: FormParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export function problem(reply: FastifyReply, status: number, title: string, detail: string) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail });
}

export interface TwilioWebhook {
  readonly path: string;
  readonly authToken: string;
  /** The URL as Twilio sees it (what it signed), not as this process receives it behind a proxy. */
  readonly url: () => string;
  readonly log: Logger;
  /** What the webhook is, for the log line of a refused request. */
  readonly what: string;
  /** Runs only for a request Twilio signed, with its form fields. */
  readonly handle: (
    fields: Record<string, string>,
    req: FastifyRequest,
    reply: FastifyReply,
  ) => Promise<FastifyReply>;
}

/**
 * A POST webhook of Twilio's: form-encoded (parser and size cap on this route only), and
 * the signature checked against the configured public URL with the SDK's validator before
 * anything else is read; an unsigned or wrongly signed request gets 403 and changes nothing.
 */
export async function registerTwilioWebhook(app: FastifyInstance, hook: TwilioWebhook): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT },
      (_req, body, done) => done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8'))),
    );
    scope.post(hook.path, async (req, reply) => {
      const params = (req.body ?? {}) as FormParams;
      if (typeof params !== 'object' || Array.isArray(params)) {
        return problem(reply, 415, 'Unsupported Media Type', 'expected application/x-www-form-urlencoded');
      }
      const signature = req.headers['x-twilio-signature'];
      const valid =
        typeof signature === 'string' &&
        signature !== '' &&
        twilio.validateRequest(hook.authToken, signature, hook.url(), params);
      if (!valid) {
        hook.log.warn(
          { ip: req.ip, signed: typeof signature === 'string' },
          `${hook.what} with a missing or invalid signature refused`,
        );
        return problem(
          reply,
          403,
          'Forbidden',
          'X-Twilio-Signature is missing or does not match this request',
        );
      }
      return hook.handle(singleValues(params), req, reply);
    });
  });
}
