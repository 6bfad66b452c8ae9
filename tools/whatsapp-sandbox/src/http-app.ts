import { setTimeout as delay } from 'node:timers/promises';
import { createStandInApp, errorStatus, registerControlRoutes } from '@notify/stand-in-kit';
import type { ControlledStandIn } from '@notify/stand-in-kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { credentialsMatch, parseBasicAuth } from './basic-auth.js';
import type { Credentials } from './basic-auth.js';
import { readCreateMessage } from './create-message.js';
import { parseFormBody } from './form-body.js';
import type { FormParams } from './form-body.js';
import { PAGE_CONTENT_SECURITY_POLICY, renderMessagesPage } from './html-page.js';
import type { MessageStore } from './message-store.js';
import { InvalidBehaviourError, lifecycleFor, SandboxBehaviourSchema } from './sandbox-behaviour.js';
import type { SandboxBehaviour, SandboxBehaviourState } from './sandbox-behaviour.js';
import { API_VERSION, newMessageSid, toMessageResource } from './sandbox-message.js';
import type { SandboxMessage } from './sandbox-message.js';
import type { StatusCallbackDispatcher } from './status-callbacks.js';
import { TwilioApiError, twilioErrors } from './twilio-errors.js';

export interface SandboxHttpDeps {
  store: MessageStore;
  behaviour: SandboxBehaviourState;
  callbacks: StatusCallbackDispatcher;
  credentials: Credentials;
  /** Counts a create-message request, whatever its outcome. */
  onAttempt: () => void;
  /** Messages, attempts and behaviour as the control routes read and change them. */
  controls: ControlledStandIn<SandboxBehaviour>;
  logger: Logger;
  /** Aborted on close so a configured delay does not hold shutdown up. */
  signal: AbortSignal;
}

const API_PREFIX = `/${API_VERSION}/`;

const AccountParams = {
  type: 'object',
  properties: { accountSid: { type: 'string' } },
  required: ['accountSid'],
} as const;

const MessageParams = {
  type: 'object',
  properties: { accountSid: { type: 'string' }, sid: { type: 'string' } },
  required: ['accountSid', 'sid'],
} as const;

function sendTwilioError(reply: FastifyReply, error: TwilioApiError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Basic realm="Twilio API"');
  return reply.code(error.status).send(error.toBody());
}

/** Builds the Twilio-compatible API, the web page and the control API without listening. */
export function buildHttpApp(deps: SandboxHttpDeps): FastifyInstance {
  const { store, behaviour } = deps;
  const app = createStandInApp({
    logger: deps.logger,
    pageContentSecurityPolicy: PAGE_CONTENT_SECURITY_POLICY,
  });

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, parseFormBody(typeof body === 'string' ? body : body.toString('utf8')));
    },
  );

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof TwilioApiError) return sendTwilioError(reply, error);
    if (error instanceof InvalidBehaviourError) return reply.code(400).send({ error: error.message });
    const statusCode = errorStatus(error);
    const message = error instanceof Error ? error.message : 'internal error';
    if (statusCode >= 500) app.log.error({ err: error }, 'request failed');
    if (request.url.startsWith(API_PREFIX)) {
      // Twilio has no documented code for every framework failure; 20000 + HTTP status keeps
      // the shape the SDK expects and matches the real codes where they exist (20404, 20500).
      return sendTwilioError(reply, new TwilioApiError(statusCode, 20000 + statusCode, message));
    }
    return reply.code(statusCode).send({ error: message });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (request.url.startsWith(API_PREFIX)) return sendTwilioError(reply, twilioErrors.notFound(path));
    return reply.code(404).send({ error: `no route ${request.method} ${path}` });
  });

  function authenticate(request: FastifyRequest<{ Params: { accountSid: string } }>): void {
    if (!credentialsMatch(parseBasicAuth(request.headers.authorization), deps.credentials)) {
      throw twilioErrors.authenticate();
    }
    if (request.params.accountSid !== deps.credentials.username) {
      throw twilioErrors.notFound(request.url.split('?')[0] ?? request.url);
    }
  }

  app.post<{ Params: { accountSid: string }; Body: FormParams | undefined }>(
    `${API_PREFIX}Accounts/:accountSid/Messages.json`,
    { schema: { params: AccountParams } },
    async (request, reply) => {
      deps.onAttempt();
      const current = behaviour.get();
      if (current.delayMs > 0) await delay(current.delayMs, undefined, { signal: deps.signal });
      authenticate(request);
      const injected = behaviour.takeInjectedFailure();
      if (injected !== null) throw twilioErrors.injected(injected);

      // Twilio reads only form-encoded parameters; any other body counts as no parameters at all.
      const isForm = /^application\/x-www-form-urlencoded\b/i.test(request.headers['content-type'] ?? '');
      const params: FormParams = isForm && request.body ? request.body : {};
      const input = readCreateMessage(
        params,
        (to) => behaviour.isRejected(to),
        (to, channel) => behaviour.refusalFor(to, channel),
      );
      const now = new Date().toISOString();
      const message: SandboxMessage = {
        sid: newMessageSid(),
        accountSid: deps.credentials.username,
        ...input,
        status: 'queued',
        errorCode: null,
        dateCreated: now,
        dateUpdated: now,
        params,
        statusHistory: [{ status: 'queued', at: now }],
        callbacks: [],
      };
      store.add(message);
      request.log.info(
        { messageSid: message.sid, to: message.to, channel: message.channel },
        'message accepted',
      );
      deps.callbacks.start(message, lifecycleFor(behaviour.get(), message));
      return reply.code(201).send(toMessageResource(message));
    },
  );

  app.get<{ Params: { accountSid: string; sid: string } }>(
    `${API_PREFIX}Accounts/:accountSid/Messages/:sid.json`,
    { schema: { params: MessageParams } },
    async (request) => {
      authenticate(request);
      const message = store.get(request.params.sid);
      if (!message) throw twilioErrors.notFound(request.url.split('?')[0] ?? request.url);
      return toMessageResource(message);
    },
  );

  registerControlRoutes(app, deps.controls, SandboxBehaviourSchema);

  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderMessagesPage(store.list())),
  );

  app.get<{ Params: { sid: string } }>('/api/messages/:sid', async (request, reply) => {
    const message = store.get(request.params.sid);
    if (!message) return reply.code(404).send({ error: `no message with sid ${request.params.sid}` });
    return message;
  });

  return app;
}
