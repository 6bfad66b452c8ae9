import { createStandInApp, errorStatus, registerControlRoutes } from '@notify/stand-in-kit';
import type { ControlledStandIn } from '@notify/stand-in-kit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { InvalidBehaviourError, MailBehaviourSchema } from './mail-behaviour.js';
import type { MailBehaviour } from './mail-behaviour.js';
import { PAGE_CONTENT_SECURITY_POLICY, renderInbox, renderMessage, renderNotFound } from './html-pages.js';
import type { MailStore } from './mail-store.js';

export interface MailCatcherHttpDeps {
  store: MailStore;
  /** Messages, attempts and behaviour as the control routes read and change them. */
  controls: ControlledStandIn<MailBehaviour>;
  logger: Logger;
}

const IdParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  required: ['id'],
} as const;

/** Builds the web UI and JSON API without listening, so tests can drive it with inject(). */
export function buildHttpApp(deps: MailCatcherHttpDeps): FastifyInstance {
  const { store } = deps;
  const app = createStandInApp({
    logger: deps.logger,
    pageContentSecurityPolicy: PAGE_CONTENT_SECURITY_POLICY,
    headers: { 'referrer-policy': 'no-referrer' },
  });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InvalidBehaviourError) {
      return reply.code(400).send({ error: error.message });
    }
    const statusCode = errorStatus(error);
    if (statusCode >= 500) app.log.error({ err: error }, 'request failed');
    return reply.code(statusCode).send({ error: error instanceof Error ? error.message : 'internal error' });
  });

  registerControlRoutes(app, deps.controls, MailBehaviourSchema);

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

  app.get<{ Params: { id: string } }>(
    '/api/messages/:id',
    { schema: { params: IdParams } },
    async (request, reply) => {
      const mail = store.get(request.params.id);
      if (!mail) return reply.code(404).send({ error: `no message with id ${request.params.id}` });
      return mail;
    },
  );

  return app;
}
