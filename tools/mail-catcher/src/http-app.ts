import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { InvalidBehaviourError, MailBehaviourSchema } from './mail-behaviour.js';
import type { MailBehaviour, MailBehaviourState } from './mail-behaviour.js';
import { PAGE_CONTENT_SECURITY_POLICY, renderInbox, renderMessage, renderNotFound } from './html-pages.js';
import type { MailStore } from './mail-store.js';

export interface MailCatcherHttpDeps {
  store: MailStore;
  behaviour: MailBehaviourState;
  attempts: () => number;
  clear: () => void;
  logger: Logger;
}

const IdParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id'],
} as const;

/** Builds the web UI and JSON API without listening, so tests can drive it with inject(). */
export function buildHttpApp(deps: MailCatcherHttpDeps): FastifyInstance {
  const { store, behaviour } = deps;
  // Typed as fastify's logger so the instance keeps fastify's default generics for callers.
  const httpLogger: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // A page reload per second from a developer's browser is not worth a log line each.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject unknown or mistyped behaviour fields instead of silently dropping or coercing them,
    // so a typo in a fault suite fails loudly.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      reply.header('content-security-policy', PAGE_CONTENT_SECURITY_POLICY);
    }
    return payload;
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InvalidBehaviourError) {
      return reply.code(400).send({ error: error.message });
    }
    const statusCode =
      typeof (error as { statusCode?: unknown }).statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500;
    if (statusCode >= 500) app.log.error({ err: error }, 'request failed');
    return reply.code(statusCode).send({ error: error instanceof Error ? error.message : 'internal error' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderInbox(store.list())),
  );

  app.get<{ Params: { id: string } }>(
    '/messages/:id',
    { schema: { params: IdParams } },
    async (request, reply) => {
      const mail = store.get(request.params.id);
      reply.type('text/html; charset=utf-8');
      if (!mail) return reply.code(404).send(renderNotFound(request.params.id));
      return reply.send(renderMessage(mail));
    },
  );

  app.get('/api/messages', async () => store.list());

  app.get<{ Params: { id: string } }>(
    '/api/messages/:id',
    { schema: { params: IdParams } },
    async (request, reply) => {
      const mail = store.get(request.params.id);
      if (!mail) return reply.code(404).send({ error: `no message with id ${request.params.id}` });
      return mail;
    },
  );

  app.delete('/api/messages', async (_request, reply) => {
    deps.clear();
    return reply.code(204).send();
  });

  app.get('/api/attempts', async () => ({ attempts: deps.attempts() }));

  app.get('/api/behaviour', async () => behaviour.get());

  app.put<{ Body: MailBehaviour }>(
    '/api/behaviour',
    { schema: { body: MailBehaviourSchema } },
    async (request) => {
      behaviour.set(request.body);
      return behaviour.get();
    },
  );

  return app;
}
