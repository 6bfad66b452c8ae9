import { request as httpRequest } from 'node:http';
import type { ClientRequest } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { waitFor } from '@notify/messaging/testing';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrderProgress } from '../adapters/order-read-model.js';
import { apiClients, parseApiKeys } from '../http/api-clients.js';
import { registerApiKeyAuth } from '../http/api-key-auth.js';
import { problemFor, sendProblem } from '../http/problem.js';
import { orderStreamRoutes } from './order-stream-routes.js';

// The event stream route against a lookup the test holds open, so clients can leave at
// every moment: before, during and after the first read of the order.

const ORDER = '7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e';
const MISSING = '00000000-0000-4000-8000-000000000000';
const KEYS = { a: 'a-key-0123456789abcdef', b: 'b-key-0123456789abcdef' };

interface Gate {
  readonly entered: Promise<void>;
  open(): void;
}

async function streamApp(options: { maxStreams: number; maxStreamsPerClient: number }) {
  const gates: { enter: () => void; release: Promise<void> }[] = [];
  let holding = false;
  const followers = new Set<() => void>();
  const app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  registerApiKeyAuth(app, apiClients(parseApiKeys(`a=${KEYS.a},b=${KEYS.b}`), []));
  app.setErrorHandler((err, request, reply) => sendProblem(request, reply, problemFor(err as Error)));
  const routes = orderStreamRoutes(app, {
    views: {
      async progress(id) {
        if (holding) {
          const gate = gates.shift();
          gate?.enter();
          await gate?.release;
        }
        if (id !== ORDER) return null;
        return { id, reference: 'ORD-1', status: 'accepted', channels: {} } as unknown as OrderProgress;
      },
    },
    changes: {
      follow(_id, onChange) {
        followers.add(onChange);
        return () => followers.delete(onChange);
      },
    },
    options: { ...options, heartbeatMs: 60_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    slots: routes.slots,
    followers,
    /** The next lookups wait until their gate opens. */
    hold(): Gate {
      holding = true;
      let enter = () => undefined as void;
      let open = () => undefined as void;
      const entered = new Promise<void>((r) => (enter = r));
      const release = new Promise<void>((r) => (open = r));
      gates.push({ enter, release });
      return { entered, open };
    },
    /** Opens a stream; resolves with the status once the answer's head arrives. */
    open(key: string, id = ORDER): { req: ClientRequest; status: Promise<number> } {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: `/orders/${id}/events`,
        headers: { authorization: `Bearer ${key}` },
      });
      const status = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      status.catch(() => undefined);
      req.end();
      return { req, status };
    },
  };
}

let current: Awaited<ReturnType<typeof streamApp>> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const released = (s: NonNullable<typeof current>) =>
  waitFor(() => (s.slots.open === 0 && s.followers.size === 0) || undefined, {
    what: 'every stream slot and follower released',
  });

describe('GET /orders/:id/events', () => {
  it('a client that leaves during the first lookup leaves no slot, follower or heartbeat behind', async () => {
    const s = (current = await streamApp({ maxStreams: 10, maxStreamsPerClient: 10 }));
    for (let i = 0; i < 5; i++) {
      const gate = s.hold();
      const { req } = s.open(KEYS.a);
      await gate.entered;
      expect(s.slots.open).toBe(1);
      req.destroy();
      await waitFor(() => s.slots.open === 0 || undefined, { what: 'the slot released on leaving' });
      gate.open();
    }
    await released(s);
  });

  it('a client that leaves before, after or while streaming releases its slot', async () => {
    const s = (current = await streamApp({ maxStreams: 10, maxStreamsPerClient: 10 }));
    const early = s.open(KEYS.a);
    early.req.destroy();
    const streaming = s.open(KEYS.a);
    expect(await streaming.status).toBe(200);
    expect(s.slots.openFor('a')).toBeGreaterThanOrEqual(1);
    streaming.req.destroy();
    const missing = s.open(KEYS.a, MISSING);
    expect(await missing.status).toBe(404);
    await released(s);
  });

  it('refuses a client over its own cap with 429 and any client over the global cap with 503', async () => {
    const s = (current = await streamApp({ maxStreams: 3, maxStreamsPerClient: 2 }));
    const held = [s.open(KEYS.a), s.open(KEYS.a)];
    for (const h of held) expect(await h.status).toBe(200);
    const tooMany = await s.app.inject({
      url: `/orders/${ORDER}/events`,
      headers: { authorization: `Bearer ${KEYS.a}` },
    });
    expect(tooMany.statusCode).toBe(429);
    expect(tooMany.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(tooMany.headers['retry-after']).toBe('5');
    const third = s.open(KEYS.b);
    expect(await third.status).toBe(200);
    const full = await s.app.inject({
      url: `/orders/${ORDER}/events`,
      headers: { authorization: `Bearer ${KEYS.b}` },
    });
    expect(full.statusCode).toBe(503);
    expect(full.json()).toMatchObject({
      status: 503,
      detail: expect.stringMatching(/too many open event streams/),
    });
    for (const h of [...held, third]) h.req.destroy();
    await released(s);
    const again = s.open(KEYS.a);
    expect(await again.status).toBe(200);
    again.req.destroy();
    await released(s);
  });
});
