import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { BrokerUnavailableError, republishLetter } from '@notify/messaging';
import type { Publisher } from '@notify/messaging';
import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import Type from 'typebox';
import type { StatusRepository } from '../adapters/status-repository.js';
import { PARK_SOURCES, replayTarget, sourceInfo } from '../dead-letters/dead-letter-park.js';
import type { ParkSource } from '../dead-letters/dead-letter-park.js';
import type { ParkedLetter, ParkedLetters } from '../dead-letters/parked-letters.js';
import type { ApiInstance } from '../http/api-instance.js';
import { requireOperator } from '../console/operator-access.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import { problemResponses } from '../http/order-schemas.js';
import { HttpProblem, statusTitle } from '../http/problem.js';

/**
 * What can be seen and replayed: the five channels' dead letters, the API's own event
 * queue's, and messages no queue was bound for (`unroutable`).
 */
export const DEAD_LETTER_SERVICES = PARK_SOURCES;
export type DeadLetterService = ParkSource;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_REPLAY = 10_000;
const DEFAULT_PAGE = 50;

const NullableString = Type.Union([Type.String(), Type.Null()]);
const DeadLetterView = Type.Object(
  {
    id: Type.String({ description: 'Position in the park; `after` of the next page' }),
    messageId: NullableString,
    orderId: NullableString,
    type: NullableString,
    routingKey: Type.String({ description: 'The routing key the message was first published with' }),
    reason: Type.String(),
    detail: NullableString,
    deadLetteredAt: NullableString,
    parkedAt: Type.String(),
    attempts: Type.Union([Type.Integer(), Type.Null()]),
    replays: Type.Integer(),
  },
  { additionalProperties: false },
);
const Summary = Type.Object(
  {
    service: Type.String(),
    queue: Type.String({ description: 'The queue its letters were taken from' }),
    count: Type.Integer({ description: 'Letters parked' }),
    sampled: Type.Integer({ description: 'Letters counted for oldest and reasons: all of them' }),
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
    all: Type.Optional(Type.Literal(true, { description: 'Replay every letter (up to `limit`)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REPLAY })),
  },
  {
    additionalProperties: false,
    description: 'Either `messageIds`, or `all: true` with an optional `limit`',
  },
);

function view(l: ParkedLetter) {
  return {
    id: l.id,
    messageId: l.messageId,
    orderId: l.properties.correlationId ?? null,
    type: l.properties.type ?? null,
    routingKey: l.routingKey,
    reason: l.reason,
    detail: l.detail,
    deadLetteredAt: l.deadLetteredAt,
    parkedAt: l.parkedAt,
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

/** The channel whose order state a letter of `service` belongs to, if any. */
function channelOf(service: DeadLetterService): Channel | null {
  return (CHANNELS as readonly string[]).includes(service) ? (service as Channel) : null;
}

/**
 * Dead letters and unroutable messages, from the park (src/dead-letters/): the order
 * API moves them out of the broker, so listing and summarising are queries that change
 * nothing however often they run. Replay publishes the chosen letters again (confirmed)
 * with their original message ids, so the consumer's idempotency holds, and deletes
 * only those; a channel's order starts over from `published`.
 */
export function deadLetterRoutes(
  app: ApiInstance,
  deps: {
    letters: ParkedLetters;
    publisher: Pick<Publisher, 'publishRaw'>;
    statuses: StatusRepository;
  },
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
        summary: 'Parked dead letters and unroutable messages per service: count, oldest, reasons',
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
      const summaries = await deps.letters.summaries(DEAD_LETTER_SERVICES.map((s) => sourceInfo(s).queue));
      const services = summaries.map((s, i) => ({
        service: DEAD_LETTER_SERVICES[i]!,
        queue: s.queue,
        count: s.count,
        sampled: s.count,
        oldest: s.oldest && view(s.oldest),
        reasons: [...s.reasons],
      }));
      return { total: services.reduce((n, s) => n + s.count, 0), services };
    },
  );
  refuseOtherMethods(app, '/dead-letters', ['GET']);

  app.get(
    '/dead-letters/:service',
    {
      ...operatorOnly,
      schema: {
        summary: "One service's parked letters: the summary and one page of letters, oldest first",
        tags: ['dead letters'],
        params: ServiceParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: '1-999, default 50' }),
            ),
            after: Type.Optional(
              Type.String({
                pattern: '^[0-9]{1,18}$',
                description: "The previous page's `next`: letters after that one",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            {
              ...Summary.properties,
              messages: Type.Array(DeadLetterView),
              next: Type.Union([Type.String(), Type.Null()], {
                description: '`after` for the next page; null on the last page',
              }),
            },
            { additionalProperties: false },
          ),
          ...problemResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request) => {
      const { service } = request.params;
      const { queue } = sourceInfo(service);
      const limit = request.query.limit ? Number(request.query.limit) : DEFAULT_PAGE;
      const [summaries, page] = await Promise.all([
        deps.letters.summaries([queue]),
        deps.letters.page(queue, {
          ...(request.query.after ? { after: request.query.after } : {}),
          limit: limit + 1,
        }),
      ]);
      const s = summaries[0]!;
      const messages = page.slice(0, limit);
      return {
        service,
        queue,
        count: s.count,
        sampled: s.count,
        oldest: s.oldest && view(s.oldest),
        reasons: [...s.reasons],
        messages: messages.map(view),
        next: page.length > limit ? (messages[messages.length - 1]?.id ?? null) : null,
      };
    },
  );
  refuseOtherMethods(app, '/dead-letters/:service', ['GET']);

  app.post(
    '/dead-letters/:service/replay',
    {
      ...operatorOnly,
      schema: {
        summary: "Replay a service's parked letters after the cause is fixed",
        description:
          "Publishes each chosen letter again with its original message id (the consumer's " +
          'idempotency holds), the routing key it was first published with and a fresh attempt ' +
          'budget: a dead letter to its work queue alone, an unroutable message to `notification` ' +
          '(it reaches its queue once the binding is back, and is parked again while it is not). ' +
          'Each letter leaves the park once the broker confirmed it; the others stay as they ' +
          "were. The order's channel starts over from `published`.",
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
      const { queue } = sourceInfo(service);
      const result = await deps.letters
        .replay(
          queue,
          { ...(messageIds ? { messageIds } : {}), limit: limit ?? MAX_REPLAY },
          async (letter) => {
            const channel = channelOf(service);
            const orderId = letter.properties.correlationId;
            const tracked = channel !== null && orderId !== undefined && UUID.test(orderId);
            // Reset before publishing, so the outcome of the replay is never older than the reset.
            if (tracked) await deps.statuses.markReplayed(orderId, channel, letter.messageId, new Date());
            try {
              await republishLetter(deps.publisher, letter, replayTarget(service, letter));
            } catch (err) {
              // The letter stays parked: say so again on its channel.
              if (tracked) {
                await deps.statuses
                  .apply({
                    orderId,
                    channel,
                    event: {
                      kind: 'dead_lettered',
                      occurredAt: new Date().toISOString(),
                      attempts: Math.max(1, letter.attempts ?? 1),
                      reason: `replay failed; still dead-lettered (${letter.reason})`,
                    },
                  })
                  .catch(() => undefined);
              }
              throw err;
            }
          },
        )
        .catch(brokerDown);
      request.log.info(
        { service, replayed: result.replayed.map((l) => l.messageId), notFound: result.notFound },
        'dead letters replayed',
      );
      return {
        service,
        queue,
        replayed: result.replayed.map(view),
        notFound: [...result.notFound],
      };
    },
  );
  refuseOtherMethods(app, '/dead-letters/:service/replay', ['POST']);
}
