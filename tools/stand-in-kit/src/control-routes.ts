import type { FastifyInstance, FastifySchema } from 'fastify';

/** What the control routes read and change; a StandInState is one. */
export interface ControlledStandIn<Behaviour> {
  messages(): unknown[];
  attempts(): number;
  clear(): void;
  behaviour(): unknown;
  setBehaviour(behaviour: Behaviour): void;
}

/**
 * The routes tests, fault suites and people use to look at and steer a stand-in from
 * outside its process: health, the held messages, the attempt count and the behaviour.
 * `behaviourSchema` validates PUT /api/behaviour, which replaces the whole behaviour.
 */
export function registerControlRoutes<Behaviour>(
  app: FastifyInstance,
  standIn: ControlledStandIn<Behaviour>,
  behaviourSchema: FastifySchema['body'],
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/api/messages', async () => standIn.messages());

  app.delete('/api/messages', async (_request, reply) => {
    standIn.clear();
    return reply.code(204).send();
  });

  app.get('/api/attempts', async () => ({ attempts: standIn.attempts() }));

  app.get('/api/behaviour', async () => standIn.behaviour());

  app.put('/api/behaviour', { schema: { body: behaviourSchema } }, async (request) => {
    // behaviourSchema has checked the body; Fastify cannot infer a type from a generic schema.
    standIn.setBehaviour(request.body as Behaviour);
    return standIn.behaviour();
  });
}
