import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The preload as the services run it (`node --import @notify/telemetry/register`), in a
// child process of its own, exporting to a collector that is a plain HTTP server here.

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

// Runs in the child: a span of its own, an HTTP request served with a caller's trace
// context, what the CommonJS loader holds of the SDK, then a flush.
const CHILD = `
import { createRequire } from 'node:module';
import http from 'node:http';
import { trace } from '@opentelemetry/api';
import { shutdownTelemetry, telemetryStarted } from '@notify/telemetry';
const span = trace.getTracer('probe').startSpan('probe span');
const recording = span.isRecording();
span.end();
let served;
const server = http.createServer((req, res) => {
  const active = trace.getActiveSpan();
  served = { recording: active?.isRecording() ?? false, traceId: active?.spanContext().traceId };
  res.end('ok');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
await fetch('http://127.0.0.1:' + server.address().port + '/probe', { headers: { traceparent } });
server.close();
const sdkModules = Object.keys(createRequire(import.meta.url).cache).filter((k) =>
  /@opentelemetry[\\\\/](sdk-trace|exporter-trace|instrumentation)/.test(k),
).length;
await shutdownTelemetry();
console.log(JSON.stringify({ started: telemetryStarted(), recording, traceId: span.spanContext().traceId, served, sdkModules }));
`;

interface ChildReport {
  started: boolean;
  recording: boolean;
  traceId: string;
  served: { recording: boolean; traceId: string | undefined };
  sdkModules: number;
}

async function runChild(env: Record<string, string>): Promise<ChildReport> {
  const child = spawn(
    process.execPath,
    ['--import', '@notify/telemetry/register', '--input-type=module', '-e', CHILD],
    {
      cwd: PACKAGE_DIR,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`child exited ${code}: ${err}`);
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ChildReport;
}

interface Received {
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let collector: Server;
let endpoint: string;
const received: Received[] = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => collector?.close(r));
});

describe('the telemetry preload', () => {
  it('with no OTLP endpoint, starts nothing: no SDK module is loaded and spans do not record', async () => {
    const report = await runChild({});
    expect(report).toMatchObject({ started: false, recording: false, sdkModules: 0 });
    expect(report.served.recording).toBe(false);
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, records spans, continues a caller`s trace over HTTP and exports OTLP protobuf', async () => {
    received.length = 0;
    const report = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: 'preload-probe',
    });
    expect(report.recording).toBe(true);
    expect(report.sdkModules).toBeGreaterThan(0);
    // The HTTP instrumentation applies to an ESM import of node:http and reads traceparent.
    expect(report.served).toEqual({ recording: true, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
    // The shutdown flushed the batch before the process ended.
    expect(received.length).toBeGreaterThan(0);
    const exported = received[0]!;
    expect(exported.path).toBe('/v1/traces');
    expect(exported.headers['content-type']).toBe('application/x-protobuf');
    const bodies = Buffer.concat(received.map((r) => r.body));
    // Protobuf carries ids as raw bytes and names as UTF-8.
    for (const traceId of [report.traceId, report.served.traceId!]) {
      expect(bodies.includes(Buffer.from(traceId, 'hex')), traceId).toBe(true);
    }
    expect(bodies.includes(Buffer.from('preload-probe'))).toBe(true);
    expect(bodies.includes(Buffer.from('probe span'))).toBe(true);
  });

  it('refuses a malformed endpoint with one line naming the variable', async () => {
    await expect(runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).rejects.toThrow(
      /child exited 1: invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT is not a URL/,
    );
  });
});
