import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import twilio from 'twilio';
import { STATUS_CALLBACK_PATH } from './config.js';
import { MalformedCallbackError, recordStatusCallback } from './record-status-callback.js';
import type { StatusRepository } from './record-status-callback.js';
import type { MessageEvents } from './send-order-whatsapp.js';

/** Twilio's status callbacks are a dozen short fields; anything much larger is not one. */
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

function singleValues(params: FormParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    const v = Array.isArray(value) ? value[value.length - 1] : value;
    if (v !== undefined) out[name] = v;
  }
  return out;
}

function problem(reply: FastifyReply, status: number, title: string, detail: string) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, detail });
}

export interface StatusCallbackRouteDeps {
  readonly authToken: string;
  /** The URL as Twilio sees it (what it signed), not as this process receives it behind a proxy. */
  readonly callbackUrl: () => string;
  readonly repository: StatusRepository;
  readonly events: MessageEvents;
  readonly logger: Logger;
}

/**
 * POST /twilio/status: Twilio's message status callbacks. The signature is checked against
 * the configured public URL with the SDK's validator before anything else is read; an
 * unsigned or wrongly signed request gets 403 and changes nothing.
 */
export function statusCallbackRoutes(deps: StatusCallbackRouteDeps) {
  const log = deps.logger.child({ component: 'status-callback' });
  return async (app: FastifyInstance) => {
    // Encapsulated: the form parser and its size cap apply to this route only.
    await app.register(async (scope) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: CALLBACK_BODY_LIMIT },
        (_req, body, done) => done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8'))),
      );

      scope.post(STATUS_CALLBACK_PATH, async (req, reply) => {
        const params = (req.body ?? {}) as FormParams;
        if (typeof params !== 'object' || Array.isArray(params)) {
          return problem(reply, 415, 'Unsupported Media Type', 'expected application/x-www-form-urlencoded');
        }
        const signature = req.headers['x-twilio-signature'];
        const valid =
          typeof signature === 'string' &&
          signature !== '' &&
          twilio.validateRequest(deps.authToken, signature, deps.callbackUrl(), params);
        if (!valid) {
          log.warn(
            { ip: req.ip, signed: typeof signature === 'string' },
            'status callback with a missing or invalid signature refused',
          );
          return problem(
            reply,
            403,
            'Forbidden',
            'X-Twilio-Signature is missing or does not match this request',
          );
        }
        try {
          const outcome = await recordStatusCallback(singleValues(params), {
            repository: deps.repository,
            events: deps.events,
            logger: log,
          });
          // 202: parked until the send that created the message commits; nothing published yet.
          return reply.code(outcome === 'unmatched' ? 202 : 204).send();
        } catch (err) {
          if (err instanceof MalformedCallbackError) return problem(reply, 400, 'Bad Request', err.message);
          log.error({ err }, 'could not record or publish a status callback');
          // Twilio (and the sandbox) may try again; the stored status is re-published then.
          return problem(
            reply,
            503,
            'Service Unavailable',
            'the status could not be recorded or published; try again',
          );
        }
      });
    });
  };
}
