import { PassThrough } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { ConsoleSetup } from '../console/console-setup.js';
import { OrderListQuery, OrderPageView, SystemView } from '../console/console-schemas.js';
import { requireOperator } from '../console/operator-access.js';
import { decodeCursor } from '../console/order-summaries.js';
import { SystemStatusReader } from '../console/system-status.js';
import type { ApiInstance } from '../http/api-instance.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';
import { problemResponses } from '../http/order-schemas.js';
import { HttpProblem, statusTitle } from '../http/problem.js';

/** The console's page and API may only run as themselves: no inline code, no other origin, no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** A console stream whose client reads slower than this much is written is ended; it reconnects and resyncs. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

const page = { public: true } as const;

/**
 * The operator console: its built page under /console/ (open: it holds no data and
 * asks for the key) and its API under /console/api/ (operators only, see
 * requireOperator). Every answer carries a strict Content-Security-Policy; API answers
 * are never cached, as they carry customer emails.
 */
export async function consoleRoutes(app: ApiInstance, setup: ConsoleSetup): Promise<void> {
  app.addHook('onSend', async (request, reply) => {
    reply.headers(SECURITY_HEADERS);
    if (request.url.startsWith('/console/api/')) reply.header('cache-control', 'no-store');
  });

  registerPage(app, setup);

  const operator = { preHandler: async (request: FastifyRequest) => requireOperator(request) };
  const system = new SystemStatusReader({
    queues: setup.queues,
    ops: { 'order-api': setup.self, ...setup.serviceOps },
    management: setup.management,
    parked: setup.parked,
  });

  app.get(
    '/console/api/orders',
    {
      ...operator,
      schema: {
        summary: 'Recent orders, newest first, with the state of each channel (operators)',
        description:
          "Every client's orders: operators only. `q` finds an order by id, or by the start of its " +
          'reference or customer email; pages continue with `before`.',
        tags: ['console'],
        querystring: OrderListQuery,
        response: { 200: OrderPageView, ...problemResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => {
      const { q, limit, before } = request.query;
      const cursor = before === undefined ? null : decodeCursor(before);
      if (before !== undefined && !cursor) {
        throw new HttpProblem(400, statusTitle(400), {
          detail: '`before` is not a cursor this API gave out',
        });
      }
      return setup.summaries.page({
        ...(q === undefined ? {} : { q }),
        limit: limit ? Number(limit) : 50,
        before: cursor,
      });
    },
  );
  refuseOtherMethods(app, '/console/api/orders', ['GET']);

  registerStream(app, setup, operator.preHandler);

  app.get(
    '/console/api/system',
    {
      ...operator,
      schema: {
        summary:
          'Per service: readiness, queue depth, consumers, rates, retries and dead letters (operators)',
        description:
          "Each figure says its source: `amqp` (passive queue declares), `metrics` (the service's own " +
          '`messages_processed_total`, as a rate between two looks), `management` (the broker management ' +
          'API, only with RABBITMQ_MANAGEMENT_URL). A figure a source could not give is null with a note.',
        tags: ['console'],
        response: { 200: SystemView, ...problemResponses(401, 403, 429) },
      },
    },
    async () => system.read(),
  );
  refuseOtherMethods(app, '/console/api/system', ['GET']);
}

function registerPage(app: ApiInstance, setup: ConsoleSetup): void {
  const hidden = { hide: true };
  const notBuilt = () =>
    new HttpProblem(503, statusTitle(503), {
      detail: 'the console page is not built on this server (npm run build); its API still answers',
    });
  app.get('/console', { config: page, schema: hidden }, async (_request, reply) =>
    reply.redirect('/console/', 308),
  );
  app.get('/console/*', { config: page, schema: hidden }, async (request, reply) => {
    if (!setup.assets.ok) throw notBuilt();
    const name = (request.params as { '*': string })['*'] || 'index.html';
    const file = setup.assets.assets.files.get(name);
    if (!file) throw new HttpProblem(404, statusTitle(404), { detail: 'the console has no such file' });
    return reply
      .header('content-type', file.contentType)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(file.body);
  });
}

function registerStream(
  app: ApiInstance,
  setup: ConsoleSetup,
  preHandler: (request: FastifyRequest) => Promise<void>,
): void {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
    setup.feed.close();
  });

  app.get(
    '/console/api/orders/stream',
    {
      preHandler,
      schema: {
        summary: 'Every order that changes, live (Server-Sent Events; operators)',
        description:
          'A `text/event-stream`. `ready` is sent at once; then an `order` event (the summary of ' +
          'GET /console/api/orders) for each order placed or changed; `resync` when changes may have been ' +
          'missed (read the list again). `:` lines are keep-alives. Use `fetch` with the Authorization ' +
          'header (EventSource cannot send headers).',
        tags: ['console'],
        response: {
          200: Type.Unsafe({
            description: 'Server-Sent Events',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          }),
          ...problemResponses(401, 403, 429, 503),
        },
      },
    },
    async (_request, reply) => {
      if (setup.feed.size >= setup.maxStreams) {
        throw new HttpProblem(503, statusTitle(503), {
          detail: 'too many open console streams on this server; retry later',
          headers: { 'retry-after': '5' },
        });
      }
      const stream = new PassThrough();
      const write = (text: string) => {
        if (stream.writableEnded) return;
        if (stream.writableLength > MAX_BUFFERED_BYTES) end();
        else stream.write(text);
      };
      const send = (event: string, data: unknown) =>
        write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const unsubscribe = setup.feed.subscribe({
        order: (summary) => send('order', summary),
        resync: () => send('resync', {}),
      });
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), setup.heartbeatMs);
      heartbeat.unref();
      function end() {
        if (!open.delete(end)) return;
        unsubscribe();
        clearInterval(heartbeat);
        stream.end();
      }
      open.add(end);
      reply.raw.once('close', end);
      stream.write('retry: 3000\n\n');
      send('ready', { at: new Date().toISOString() });
      return (
        reply
          .code(200)
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-store, no-transform')
          .header('x-accel-buffering', 'no')
          // The connection ends with the stream (on shutdown too), instead of lingering as keep-alive.
          .header('connection', 'close')
          .send(stream)
      );
    },
  );
  refuseOtherMethods(app, '/console/api/orders/stream', ['GET']);
}
