import { channelConsumers, CHANNELS, orderEventsConsumer } from '@notify/contracts';
import type { Channel, ConsumerTopology } from '@notify/contracts';
import { BrokerUnavailableError } from '@notify/messaging';
import type { DeadLetter, DeadLetterQueues } from '@notify/messaging';
import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import Type from 'typebox';
import type { StatusRepository } from '../adapters/status-repository.js';
import type { ApiInstance } from '../http/api-instance.js';
import { requireOperator } from '../console/operator-access.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import { problemResponses } from '../http/order-schemas.js';
import { HttpProblem, statusTitle } from '../http/problem.js';

/** Services whose dead letters can be seen and replayed: the five channels and the API's own event queue. */
export const DEAD_LETTER_SERVICES = [...CHANNELS, 'order-api'] as const;
export type DeadLetterService = (typeof DEAD_LETTER_SERVICES)[number];

function topologyOf(service: DeadLetterService): ConsumerTopology {
  return service === 'order-api' ? orderEventsConsumer : channelConsumers[service];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REPLAY = 10_000;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const DeadLetterView = Type.Object(
  {
    messageId: NullableString,
    orderId: NullableString,
    type: NullableString,
    reason: Type.String(),
    detail: NullableString,
    deadLetteredAt: NullableString,
    attempts: Type.Union([Type.Integer(), Type.Null()]),
    replays: Type.Integer(),
  },
  { additionalProperties: false },
);
const Summary = Type.Object(
  {
    service: Type.String(),
    queue: Type.String(),
    count: Type.Integer({ description: 'Messages in the dead-letter queue' }),
    sampled: Type.Integer({ description: 'Messages read to compute oldest and reasons' }),
    oldest: Type.Union([DeadLetterView, Type.Null()]),
    reasons: Type.Array(
      Type.Object(
        { reason: Type.String(), count: Type.Integer(), example: NullableString },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
const ServiceParams = Type.Object(
  { service: Type.Unsafe<DeadLetterService>({ type: 'string', enum: [...DEAD_LETTER_SERVICES] }) },
  { additionalProperties: false },
);
const ReplayBody = Type.Object(
  {
    messageIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        minItems: 1,
        maxItems: 1000,
        uniqueItems: true,
      }),
    ),
    all: Type.Optional(Type.Literal(true, { description: 'Replay every message (up to `limit`)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REPLAY })),
  },
  {
    additionalProperties: false,
    description: 'Either `messageIds`, or `all: true` with an optional `limit`',
  },
);

function view(l: DeadLetter) {
  return {
    messageId: l.messageId,
    orderId: l.correlationId,
    type: l.type,
    reason: l.reason,
    detail: l.detail,
    deadLetteredAt: l.deadLetteredAt,
    attempts: l.attempts,
    replays: l.replays,
  };
}

function brokerDown(err: unknown): never {
  if (err instanceof BrokerUnavailableError) {
    throw new HttpProblem(503, statusTitle(503), {
      detail: `the broker is not reachable: ${err.message}`,
      headers: { 'retry-after': '5' },
    });
  }
  throw err;
}

/**
 * Dead letters, read from the broker's dead-letter queues (never consumed by looking),
 * and their replay once the cause is fixed. Replay republishes with the original
 * message id, so the consumer's idempotency holds, and starts the order's channel over
 * from `published`.
 */
export function deadLetterRoutes(
  app: ApiInstance,
  deps: { deadLetters: DeadLetterQueues; statuses: StatusRepository },
): void {
  // Dead letters hold every client's orders, and replay acts on all of them: operators
  // only, refused before any body is read (after the API-key check, a global hook).
  const operatorOnly = {
    preParsing: async (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload) => {
      requireOperator(request, 'the dead-letter endpoints');
      return payload;
    },
  };
  app.get(
    '/dead-letters',
    {
      ...operatorOnly,
      schema: {
        summary: 'Dead-lettered messages per service: count, oldest, reasons',
        tags: ['dead letters'],
        response: {
          200: Type.Object(
            { total: Type.Integer(), services: Type.Array(Summary) },
            { additionalProperties: false },
          ),
          ...problemResponses(401, 403, 429, 503),
        },
      },
    },
    async () => {
      const services = [];
      for (const service of DEAD_LETTER_SERVICES) {
        const { messages: _m, ...s } = await deps.deadLetters
          .summarize(topologyOf(service))
          .catch(brokerDown);
        services.push({ service, ...s, reasons: [...s.reasons], oldest: s.oldest && view(s.oldest) });
      }
      return { total: services.reduce((n, s) => n + s.count, 0), services };
    },
  );
  refuseOtherMethods(app, '/dead-letters', ['GET']);

  app.get(
    '/dead-letters/:service',
    {
      ...operatorOnly,
      schema: {
        summary: "One service's dead letters, with the first messages of its queue",
        tags: ['dead letters'],
        params: ServiceParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1-999, default 50' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            { ...Summary.properties, messages: Type.Array(DeadLetterView) },
            { additionalProperties: false },
          ),
          ...problemResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request) => {
      const { service } = request.params;
      const listLimit = request.query.limit ? Number(request.query.limit) : 50;
      const s = await deps.deadLetters.summarize(topologyOf(service), { listLimit }).catch(brokerDown);
      return {
        service,
        ...s,
        reasons: [...s.reasons],
        oldest: s.oldest && view(s.oldest),
        messages: s.messages.map(view),
      };
    },
  );
  refuseOtherMethods(app, '/dead-letters/:service', ['GET']);

  app.post(
    '/dead-letters/:service/replay',
    {
      ...operatorOnly,
      schema: {
        summary: "Replay a service's dead-lettered messages after the cause is fixed",
        description:
          'Republishes each chosen message to its work queue with its original message id (the ' +
          "consumer's idempotency holds) and a fresh attempt budget, and removes it from the " +
          "dead-letter queue once the broker confirmed the republish. The order's channel starts " +
          'over from `published`.',
        tags: ['dead letters'],
        params: ServiceParams,
        body: ReplayBody,
        response: {
          200: Type.Object(
            {
              service: Type.String(),
              queue: Type.String(),
              replayed: Type.Array(DeadLetterView),
              notFound: Type.Array(Type.String()),
            },
            { additionalProperties: false },
          ),
          ...problemResponses(400, 401, 403, 415, 422, 429, 503),
        },
      },
    },
    async (request) => {
      const { service } = request.params;
      const { messageIds, all, limit } = request.body;
      if (Boolean(messageIds) === Boolean(all) || (limit !== undefined && !all)) {
        throw new HttpProblem(422, statusTitle(422), {
          detail: 'send either `messageIds`, or `all: true` with an optional `limit`',
        });
      }
      const channel: Channel | null = service === 'order-api' ? null : service;
      const result = await deps.deadLetters
        .replay(
          topologyOf(service),
          { ...(messageIds ? { messageIds } : {}), limit: limit ?? MAX_REPLAY },
          {
            beforeRepublish: async (letter) => {
              const orderId = letter.correlationId;
              if (channel && orderId && UUID.test(orderId) && letter.messageId) {
                await deps.statuses.markReplayed(orderId, channel, letter.messageId, new Date());
              }
            },
            // The message is still dead-lettered: say so again on its channel.
            republishFailed: async (letter) => {
              const orderId = letter.correlationId;
              if (!channel || !orderId || !UUID.test(orderId)) return;
              await deps.statuses.apply({
                orderId,
                channel,
                event: {
                  kind: 'dead_lettered',
                  occurredAt: new Date().toISOString(),
                  attempts: Math.max(1, letter.attempts ?? 1),
                  reason: `replay failed; still dead-lettered (${letter.reason})`,
                },
              });
            },
          },
        )
        .catch(brokerDown);
      request.log.info(
        { service, replayed: result.replayed.map((l) => l.messageId), notFound: result.notFound },
        'dead letters replayed',
      );
      return {
        service,
        queue: result.queue,
        replayed: result.replayed.map(view),
        notFound: [...result.notFound],
      };
    },
  );
  refuseOtherMethods(app, '/dead-letters/:service/replay', ['POST']);
}
