export interface StreamEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

export interface EventStreamReader {
  readonly status: number;
  readonly headers: Headers;
  /** Every event received so far. */
  readonly events: readonly StreamEvent[];
  /** Comment lines (keep-alives) received so far. */
  readonly comments: number;
  /** Resolves with the first event (already received or arriving) that matches. */
  waitFor(match: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** A minimal Server-Sent Events client over fetch, for tests (EventSource cannot send headers). */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStreamReader> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const events: StreamEvent[] = [];
  const waiters = new Set<() => void>();
  let comments = 0;
  const pump = async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields: Record<string, string> = {};
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) comments++;
            const m = /^([a-z]+): ?(.*)$/.exec(line);
            if (m?.[1])
              fields[m[1]] = fields[m[1]] === undefined ? (m[2] ?? '') : `${fields[m[1]]}\n${m[2] ?? ''}`;
          }
          if (fields['data'] !== undefined) {
            events.push({ id: fields['id'], event: fields['event'] ?? 'message', data: fields['data'] });
          }
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      // aborted by close()
    }
  };
  const ended = res.ok ? pump() : Promise.resolve();
  return {
    status: res.status,
    headers: res.headers,
    events,
    get comments() {
      return comments;
    },
    ended,
    waitFor(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms; got ${events.map((e) => e.data).join('\n')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void ended.then(() => {
          if (waiters.has(check)) {
            cleanup();
            const found = events.find(match);
            if (found) resolve(found);
            else reject(new Error('the stream ended without a matching event'));
          }
        });
        check();
      });
    },
    close() {
      ac.abort();
    },
  };
}
