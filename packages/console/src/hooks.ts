import { useEffect, useRef, useState } from 'preact/hooks';
import { reconnectDelay } from './api/client.js';
import type { ConsoleApi } from './api/client.js';
import type { SseEvent } from './api/sse-parser.js';

export type Route = 'orders' | 'system' | 'dead-letters';
const ROUTES: readonly Route[] = ['orders', 'system', 'dead-letters'];

/** The view named in the URL's fragment (#/system); the fragment never carries data. */
export function routeOf(hash: string): Route {
  const name = hash.replace(/^#\/?/, '');
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : 'orders';
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const on = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export type StreamState = 'connecting' | 'live' | 'offline';

/**
 * Follows a Server-Sent Events stream while mounted, reconnecting with backoff when it
 * drops; the latest handler is always the one called.
 */
export function useEventStream(
  api: ConsoleApi,
  path: string | null,
  onEvent: (e: SseEvent) => void,
  onState?: (s: StreamState) => void,
): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const stateHandler = useRef(onState);
  stateHandler.current = onState;
  useEffect(() => {
    if (!path) return;
    const ac = new AbortController();
    let timer: number | undefined;
    let attempt = 0;
    const connect = () => {
      stateHandler.current?.('connecting');
      api
        .stream(
          path,
          {
            onOpen: () => {
              attempt = 0;
              stateHandler.current?.('live');
            },
            onEvent: (e) => handler.current(e),
          },
          ac.signal,
        )
        .catch(() => undefined)
        .finally(() => {
          if (ac.signal.aborted) return;
          stateHandler.current?.('offline');
          timer = window.setTimeout(connect, reconnectDelay(attempt++));
        });
    };
    connect();
    return () => {
      ac.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, path]);
}

/** Calls `load` now and every `intervalMs` while the tab is visible; returns a function to call it at once. */
export function usePolling(
  load: () => Promise<void>,
  intervalMs: number,
  deps: readonly unknown[],
): () => void {
  const loader = useRef(load);
  loader.current = load;
  const kick = useRef<() => void>(() => undefined);
  useEffect(() => {
    let timer: number | undefined;
    let stopped = false;
    const run = async () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (document.visibilityState !== 'hidden') await loader.current().catch(() => undefined);
      if (!stopped) timer = window.setTimeout(() => void run(), intervalMs);
    };
    kick.current = () => void run();
    void run();
    const onVisible = () => {
      if (document.visibilityState === 'visible') void run();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, deps);
  return () => kick.current();
}
