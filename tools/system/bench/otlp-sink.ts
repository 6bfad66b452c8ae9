// An OTLP/HTTP receiver in the benchmark's process that accepts and counts what the
// services export, so that telemetry's cost can be measured without a collector.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpSink {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT is set to. */
  readonly endpoint: string;
  /** Requests and bytes received, per path (/v1/traces, /v1/metrics, /v1/logs). */
  readonly received: ReadonlyMap<string, { requests: number; bytes: number }>;
  close(): Promise<void>;
}

/** Largest export body accepted; larger ones are answered 413 and not counted. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function startOtlpSink(): Promise<OtlpSink> {
  const received = new Map<string, { requests: number; bytes: number }>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'POST' || !path.startsWith('/v1/')) {
      res.writeHead(404).end();
      return;
    }
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
      }
    });
    req.on('end', () => {
      const r = received.get(path) ?? { requests: 0, bytes: 0 };
      received.set(path, { requests: r.requests + 1, bytes: r.bytes + bytes });
      // An empty body is a valid (empty) Export*ServiceResponse in protobuf and in JSON.
      const json = (req.headers['content-type'] ?? '').includes('json');
      res
        .writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' })
        .end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
