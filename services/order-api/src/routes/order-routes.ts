import { IpAddress, validateSchema } from '@notify/contracts';
import { activeTraceparent, isTraceparent } from '@notify/messaging';
import type { FastifyRequest } from 'fastify';
import type { OrderReadModel } from '../adapters/order-read-model.js';
import { orderOwnerFilter } from '../console/operator-access.js';
import { FORWARDER_SCOPE } from '../http/api-clients.js';
import { createOrder } from '../domain/create-order.js';
import type { OrderStore } from '../domain/create-order.js';
import { requestHash } from '../domain/request-hash.js';
import type { ApiInstance } from '../http/api-instance.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import {
  CreateOrderBody,
  CreateOrderHeaders,
  OrderAccepted,
  OrderIdParams,
  OrderView,
  problemResponses,
} from '../http/order-schemas.js';
import { HttpProblem, PROBLEM_TYPES, statusTitle } from '../http/problem.js';
import type { ApiMetrics } from '../metrics.js';

function requestMetadata(request: FastifyRequest) {
  const ua = request.headers['user-agent'];
  return {
    ...(validateSchema(IpAddress, request.ip).ok ? { ip: request.ip } : {}),
    ...(ua ? { userAgent: ua.slice(0, 512) } : {}),
  };
}

export function orderRoutes(
  app: ApiInstance,
  deps: {
    orders: OrderStore;
    views: Pick<OrderReadModel, 'details'>;
    metrics: ApiMetrics;
  },
): void {
  app.post(
    '/orders',
    {
      schema: {
        summary: 'Place an order',
        description:
          'Stores the order and its five notifications in one transaction; they are published to RabbitMQ ' +
          'by the outbox relay, also when the broker is down at the time of the request.',
        tags: ['orders'],
        headers: CreateOrderHeaders,
        body: CreateOrderBody,
        response: {
          201: OrderAccepted,
          ...problemResponses(400, 401, 405, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      // The IP that fraud scoring sees is the connection's (or the trusted proxies'), unless
      // the client is a trusted forwarder reporting its own customer's address.
      if (request.body.metadata?.ip !== undefined && !request.scopes.includes(FORWARDER_SCOPE)) {
        throw new HttpProblem(400, 'Request validation failed', {
          type: PROBLEM_TYPES.validation,
          detail: "only clients trusted to forward their customers' addresses may send metadata.ip",
          errors: [{ field: '/metadata/ip', message: 'is not accepted from this client' }],
        });
      }
      const key = request.headers['idempotency-key'];
      // The outbox rows keep the request's span (when traced), so the messages continue its
      // trace; without tracing, the caller's own traceparent.
      const given = request.headers.traceparent;
      const traceparent = activeTraceparent() ?? (isTraceparent(given) ? given : undefined);
      const result = await createOrder(deps.orders, request.body, {
        client: request.clientId,
        idempotency: key ? { client: request.clientId, key, requestHash: requestHash(request.body) } : null,
        requestMetadata: requestMetadata(request),
        traceparent,
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      else deps.metrics.ordersCreated.inc();
      request.log.info({ orderId: result.body.id, replayed: result.replayed }, 'order accepted');
      return reply.code(result.statusCode).header('location', result.body.links.self).send(result.body);
    },
  );
  refuseOtherMethods(app, '/orders', ['POST']);

  app.get(
    '/orders/:id',
    {
      schema: {
        summary: 'An order with the state of each of its notifications',
        tags: ['orders'],
        params: OrderIdParams,
        response: { 200: OrderView, ...problemResponses(400, 401, 404, 429, 503) },
      },
    },
    async (request) => {
      // Another client's order answers exactly like one that does not exist.
      const order = await deps.views.details(request.params.id, orderOwnerFilter(request));
      if (!order) throw new HttpProblem(404, statusTitle(404), { detail: 'there is no order with this id' });
      return order;
    },
  );
  refuseOtherMethods(app, '/orders/:id', ['GET']);
}
