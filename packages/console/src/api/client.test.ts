import { describe, expect, it } from 'vitest';
import { ApiError, ConsoleApi, reconnectDelay, sessionKeyStore } from './client.js';

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

function recordingFetch(answer: () => Response) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fn = (async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    return answer();
  }) as unknown as typeof fetch;
  return { calls, fn };
}

describe('ConsoleApi', () => {
  it('sends the stored key as a bearer token on every call', async () => {
    const keys = sessionKeyStore(memoryStorage());
    keys.set('operator-key-1234567890');
    const f = recordingFetch(() => Response.json({ ok: true }));
    const api = new ConsoleApi(keys, () => undefined, f.fn);
    await api.get('/console/api/system');
    await api.post('/dead-letters/email/replay', { all: true });
    expect(f.calls.map((c) => (c.init?.headers as Record<string, string>).authorization)).toEqual([
      'Bearer operator-key-1234567890',
      'Bearer operator-key-1234567890',
    ]);
    expect(f.calls[1]?.init?.body).toBe('{"all":true}');
  });

  it('sends no Authorization header without a key', async () => {
    const f = recordingFetch(() => Response.json({}));
    await new ConsoleApi(sessionKeyStore(memoryStorage()), () => undefined, f.fn).get('/x');
    expect((f.calls[0]?.init?.headers as Record<string, string>).authorization).toBeUndefined();
  });

  it('forgets a refused key, asks for another and reports the problem detail', async () => {
    const keys = sessionKeyStore(memoryStorage());
    keys.set('wrong-key-000000000000');
    let asked = 0;
    const f = recordingFetch(
      () =>
        new Response(
          JSON.stringify({ status: 401, title: 'Unauthorized', detail: 'the API key is not valid' }),
          {
            status: 401,
            headers: { 'content-type': 'application/problem+json' },
          },
        ),
    );
    const api = new ConsoleApi(keys, () => asked++, f.fn);
    const err = await api.get('/console/api/orders').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 401, detail: 'the API key is not valid' });
    expect(keys.get()).toBeNull();
    expect(asked).toBe(1);
  });

  it('reads a stream of events until the server ends it', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        c.enqueue(enc.encode('retry: 3000\n\nevent: ready\ndata: {}\n\nevent: or'));
        c.enqueue(enc.encode('der\ndata: {"id":"1"}\n\n'));
        c.close();
      },
    });
    const f = recordingFetch(() => new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
    const seen: string[] = [];
    let opened = false;
    await new ConsoleApi(sessionKeyStore(memoryStorage()), () => undefined, f.fn).stream(
      '/console/api/orders/stream',
      { onOpen: () => (opened = true), onEvent: (e) => seen.push(`${e.event}:${e.data}`) },
      new AbortController().signal,
    );
    expect(opened).toBe(true);
    expect(seen).toEqual(['ready:{}', 'order:{"id":"1"}']);
    expect((f.calls[0]?.init?.headers as Record<string, string>).accept).toBe('text/event-stream');
  });

  it('waits longer after each failed reconnect, up to 30 seconds', () => {
    expect([0, 1, 2, 3, 10].map(reconnectDelay)).toEqual([1_000, 2_000, 4_000, 8_000, 30_000]);
  });
});
