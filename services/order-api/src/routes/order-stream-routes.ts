import { PassThrough } from 'node:stream';
import Type from 'typebox';
import type { OrderProgress, OrderReadModel } from '../adapters/order-read-model.js';
import type { ApiInstance } from '../http/api-instance.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import { OrderIdParams, problemResponses } from '../http/order-schemas.js';
import { orderOwnerFilter } from '../console/operator-access.js';
import { HttpProblem, statusTitle } from '../http/problem.js';
import { StreamSlots } from '../http/stream-slots.js';
import type { OrderChanges } from '../status/order-changes.js';

export interface OrderStreamOptions {
  /** Open streams this process serves at most; more are refused with 503. */
  readonly maxStreams: number;
  /** Open streams one client may hold on this process; more are refused with 429. */
  readonly maxStreamsPerClient: number;
  /** A comment line is sent this often so proxies keep an idle stream open. */
  readonly heartbeatMs: number;
}

/**
 * `GET /orders/:id/events`: Server-Sent Events. The first `order` event is the order's
 * current state; another follows each time a channel changes (whichever replica made
 * the change: they are announced through PostgreSQL NOTIFY). Every event carries the
 * whole status, so a client that reconnects needs no history. Comment lines keep an
 * idle stream alive. The stream ends when the client leaves or the server shuts down.
 */
export function orderStreamRoutes(
  app: ApiInstance,
  deps: {
    views: Pick<OrderReadModel, 'progress'>;
    changes: Pick<OrderChanges, 'follow'>;
    options: OrderStreamOptions;
  },
): { readonly slots: StreamSlots } {
  const open = new Set<() => void>();
  const slots = new StreamSlots(deps.options.maxStreams, deps.options.maxStreamsPerClient);
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get(
    '/orders/:id/events',
    {
      schema: {
        summary: 'Follow an order live (Server-Sent Events)',
        description:
          'A `text/event-stream`. Each `order` event has the JSON `{id, reference, status, channels}` ' +
          '(as in GET /orders/:id); the first is sent at once, then one per change. Lines starting with ' +
          '`:` are keep-alive comments. Browsers: `new EventSource(url)` when authentication is off, ' +
          'otherwise `fetch` with the Authorization header (EventSource cannot send headers).',
        tags: ['orders'],
        params: OrderIdParams,
        response: {
          200: Type.Unsafe({
            description: 'Server-Sent Events',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          }),
          ...problemResponses(400, 401, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { changes, views, options } = deps;
      // The slot is held from here until cleanup, which every path below reaches: the
      // client leaving (at any moment, also during the first lookup), a failed or empty
      // lookup, or the server shutting down.
      const slot = slots.acquire(request.clientId);
      const id = request.params.id;
      const owner = orderOwnerFilter(request);
      const stream = new PassThrough();
      let lastSent = '';
      let seq = 0;
      let reading = false;
      let again = false;
      const timer: { heartbeat?: NodeJS.Timeout } = {};
      let unfollow = (): void => undefined;
      let closed = false;
      const cleanup = () => {
        if (closed) return;
        closed = true;
        open.delete(cleanup);
        unfollow();
        clearInterval(timer.heartbeat);
        stream.end();
        slot.release();
      };
      open.add(cleanup);
      let clientGone = false;
      reply.raw.once('close', () => {
        clientGone = true;
        cleanup();
      });

      const send = (order: OrderProgress) => {
        const data = JSON.stringify(order);
        if (data === lastSent || stream.writableEnded) return;
        lastSent = data;
        stream.write(`id: ${++seq}\nevent: order\ndata: ${data}\n\n`);
      };
      // Notifications that arrive during a read coalesce into one more read.
      const refresh = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            const order = await views.progress(id, owner);
            if (order) send(order);
          } while (again && !stream.writableEnded);
        } catch (err) {
          request.log.warn({ err, orderId: id }, 'could not read the order for its event stream');
        } finally {
          reading = false;
        }
      };

      // Follow before the first read, so no change between the two is missed.
      unfollow = changes.follow(id, () => void refresh());
      let first: OrderProgress | null;
      try {
        first = await views.progress(id, owner);
      } catch (err) {
        cleanup();
        throw err;
      }
      if (clientGone) {
        // The client left during the lookup: nobody to answer, and nothing left behind.
        return reply.hijack();
      }
      if (closed) {
        throw new HttpProblem(503, statusTitle(503), {
          detail: 'the server is shutting down; reconnect',
          headers: { 'retry-after': '1' },
        });
      }
      if (!first) {
        cleanup();
        throw new HttpProblem(404, statusTitle(404), { detail: 'there is no order with this id' });
      }

      const heartbeat = setInterval(() => {
        if (!stream.writableEnded) stream.write(': keep-alive\n\n');
      }, options.heartbeatMs);
      heartbeat.unref();
      timer.heartbeat = heartbeat;

      stream.write('retry: 3000\n\n');
      send(first);
      return (
        reply
          .code(200)
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache, no-transform')
          .header('x-accel-buffering', 'no')
          // The connection ends with the stream: a shutdown that ends the stream then finds
          // no keep-alive connection left to wait for.
          .header('connection', 'close')
          .send(stream)
      );
    },
  );
  refuseOtherMethods(app, '/orders/:id/events', ['GET']);
  return { slots };
}
