import { SseParser } from './sse-parser.js';
import type { SseEvent } from './sse-parser.js';

/** A failed API call, with the problem document's detail when the API sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** Where the operator's key is kept: the browser tab's session, never a URL or a cookie. */
export interface KeyStore {
  get(): string | null;
  set(key: string): void;
  clear(): void;
}

const KEY_NAME = 'notify-console-api-key';

export function sessionKeyStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>): KeyStore {
  return {
    get: () => storage.getItem(KEY_NAME),
    set: (key) => storage.setItem(KEY_NAME, key),
    clear: () => storage.removeItem(KEY_NAME),
  };
}

async function problemDetail(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: unknown; title?: unknown };
    if (typeof body.detail === 'string') return body.detail;
    if (typeof body.title === 'string') return body.title;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${res.status}`;
}

export interface StreamHandlers {
  /** The stream is open (HTTP 200). */
  onOpen?(): void;
  onEvent(event: SseEvent): void;
}

/**
 * The order API as the console calls it: same origin, `Authorization: Bearer <key>` on
 * every call. A 401 clears the key and tells the page to ask for it again.
 */
export class ConsoleApi {
  constructor(
    private readonly keys: KeyStore,
    private readonly onUnauthorized: () => void,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const key = this.keys.get();
    return { accept: 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
  }

  private async check(res: Response): Promise<Response> {
    if (res.ok) return res;
    if (res.status === 401) {
      this.keys.clear();
      this.onUnauthorized();
    }
    throw new ApiError(res.status, await problemDetail(res));
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.fetchFn(path, {
      headers: this.headers(),
      cache: 'no-store',
      ...(signal ? { signal } : {}),
    });
    return (await (await this.check(res)).json()) as T;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetchFn(path, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
    });
    return (await (await this.check(res)).json()) as T;
  }

  /**
   * Reads a Server-Sent Events stream with fetch (EventSource cannot send the
   * Authorization header) until the server ends it or `signal` aborts; rejects on
   * failure so the caller can reconnect.
   */
  async stream(path: string, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
    const res = await this.check(
      await this.fetchFn(path, {
        headers: this.headers({ accept: 'text/event-stream' }),
        cache: 'no-store',
        signal,
      }),
    );
    if (!res.body) throw new ApiError(res.status, 'the stream has no body');
    handlers.onOpen?.();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const event of parser.push(value)) handlers.onEvent(event);
      }
    } finally {
      reader.releaseLock();
    }
  }
}

/** Delay before reconnect attempt `n` (0-based): 1 s doubling to 30 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt));
}
