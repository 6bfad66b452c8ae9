import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVICE_NAMES } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followOrder } from './follow-order.js';
import { sampleOrder } from './sample-order.js';
import { startLocalSystem } from './test-support/local-system.js';
import type { LocalSystem } from './test-support/local-system.js';

// The six services as `npm start` runs them, with tracing on, exporting to a collector
// that is an HTTP server in this process. OTLP's JSON encoding keeps the decoding to
// JSON.parse; the protobuf default is checked in packages/telemetry's preload test.

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: AnyValue }[];
  links?: { traceId: string; spanId: string }[];
}
interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: AnyValue }[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly links: readonly { traceId: string; spanId: string }[];
}

const SPAN_KIND = { server: 2, producer: 4, consumer: 5 } as const;
const BODY_LIMIT = 20 * 1024 * 1024;

function valueOf(v: AnyValue): string | number | boolean | undefined {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.boolValue;
}

function attributesOf(list: { key: string; value: AnyValue }[] | undefined) {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

/** A collector of OTLP/HTTP JSON traces: keeps every span it is sent. */
function startCollector(spans: ReceivedSpan[]): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= BODY_LIMIT) chunks.push(c);
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || size > BODY_LIMIT) {
        res.writeHead(400).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(attributesOf(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
              links: s.links ?? [],
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('one order is one trace across the six services', () => {
  const spans: ReceivedSpan[] = [];
  let collector: Server;
  let sys: LocalSystem;

  beforeAll(async () => {
    collector = await startCollector(spans);
    sys = await startLocalSystem({
      prefix: 'system-telemetry',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Export within a fraction of a second instead of the default five.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
  });

  afterAll(async () => {
    await sys?.close();
    await new Promise((r) => collector?.close(r));
  });

  it('from POST /orders through the relay, the five services, their outcome events, the status loop and the WhatsApp callbacks', async () => {
    const placed = await sys.api.postOrder(sampleOrder());
    const followed = await followOrder(sys.api, placed.id, { timeoutMs: 120_000 });
    expect(followed.order.status).toBe('completed');

    const ofOrder = () =>
      spans.filter((s) => s.attributes['messaging.message.conversation_id'] === placed.id);
    // Spans arrive in batches; wait until the last hop of each path has been exported.
    await waitFor(
      () => {
        const mine = ofOrder();
        const services = new Set(mine.map((s) => s.service));
        const statusFromCallback = mine.some(
          (s) =>
            s.service === 'whatsapp' &&
            s.kind === SPAN_KIND.producer &&
            s.attributes['messaging.rabbitmq.destination.routing_key'] === 'whatsapp.status',
        );
        const statusLoopSawIt = mine.some(
          (s) =>
            s.service === 'order-api' &&
            s.kind === SPAN_KIND.consumer &&
            s.attributes['messaging.rabbitmq.destination.routing_key'] === 'whatsapp.status',
        );
        return SERVICE_NAMES.every((n) => services.has(n)) && statusFromCallback && statusLoopSawIt
          ? true
          : null;
      },
      { timeoutMs: 60_000, what: "the order's spans from all six services" },
    );

    const mine = ofOrder();
    const traceIds = new Set(mine.map((s) => s.traceId));
    expect([...traceIds]).toHaveLength(1);
    const [traceId] = [...traceIds] as [string];
    const inTrace = spans.filter((s) => s.traceId === traceId);
    expect(new Set(inTrace.map((s) => s.service))).toEqual(new Set(SERVICE_NAMES));

    // It starts at the HTTP request that placed the order.
    const post = inTrace.find(
      (s) =>
        s.service === 'order-api' &&
        s.kind === SPAN_KIND.server &&
        (s.attributes['http.method'] ?? s.attributes['http.request.method']) === 'POST',
    );
    expect(post, 'the POST /orders server span').toBeDefined();
    // Every service publishes and consumes in it, each consumer under a publish span.
    for (const service of SERVICE_NAMES) {
      const kinds = new Set(inTrace.filter((s) => s.service === service).map((s) => s.kind));
      expect(kinds.has(SPAN_KIND.producer), `${service} publishes in the trace`).toBe(true);
      expect(kinds.has(SPAN_KIND.consumer), `${service} consumes in the trace`).toBe(true);
    }
    // PostgreSQL queries made while serving the order are in it too.
    expect(
      inTrace.some((s) => (s.attributes['db.system'] ?? s.attributes['db.system.name']) === 'postgresql'),
    ).toBe(true);

    // The callback's status event continues the message's trace and links the callback request.
    const callbackStatus = mine.filter(
      (s) =>
        s.service === 'whatsapp' &&
        s.kind === SPAN_KIND.producer &&
        s.attributes['messaging.rabbitmq.destination.routing_key'] === 'whatsapp.status' &&
        s.links.length > 0,
    );
    expect(callbackStatus.length).toBeGreaterThan(0);
    const linked = callbackStatus[0]!.links[0]!;
    expect(linked.traceId).not.toBe(traceId);
    await waitFor(
      () =>
        spans.some(
          (s) => s.service === 'whatsapp' && s.kind === SPAN_KIND.server && s.spanId === linked.spanId,
        ) || null,
      { timeoutMs: 30_000, what: 'the linked status callback request span' },
    );

    // Log lines written while serving the order carry its trace id.
    const accepted = sys
      .logs('order-api')
      .find((l) => l.includes('"order accepted"') && l.includes(placed.id));
    expect(accepted).toContain(`"trace_id":"${traceId}"`);
  });
});
