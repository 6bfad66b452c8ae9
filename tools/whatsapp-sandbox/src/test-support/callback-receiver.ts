import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedCallback {
  /** The full URL the request was sent to, as the sandbox signed it. */
  url: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
}

export interface CallbackReceiver {
  baseUrl: string;
  received: ReceivedCallback[];
  /** Resolves once `count` callbacks have arrived; rejects after the deadline. */
  waitForCount(count: number, timeoutMs?: number): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

/**
 * A plain HTTP server standing in for the WhatsApp service's status webhook. `answer` picks
 * the HTTP status for the n-th request (0-based), so tests can make the first tries fail.
 */
export async function startCallbackReceiver(
  answer: (index: number) => number = () => 204,
): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const listeners = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const address = server.address() as AddressInfo;
      const index = received.length;
      received.push({
        url: `http://127.0.0.1:${address.port}${request.url ?? ''}`,
        headers: request.headers,
        params,
      });
      response.statusCode = answer(index);
      response.end();
      for (const listener of [...listeners]) listener();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    waitForCount: (count, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length >= count) {
            finish();
            resolve([...received]);
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`expected ${count} callback(s) within ${timeoutMs} ms, got ${received.length}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
