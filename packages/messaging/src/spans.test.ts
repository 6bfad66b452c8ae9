import { EventEmitter } from 'node:events';
import { channelConsumers, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from './broker.js';
import { Consumer } from './consumer.js';
import { FakeSource } from './fake-connection.js';
import { Publisher } from './publisher.js';
import type { MessageContext } from './settle.js';
import { waitFor } from './testing/index.js';
import { contextOfTraceparent, traceparentOf } from './trace.js';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const PARENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const orderId = exampleMessages.email.orderId;

interface Sent {
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: Record<string, unknown>;
}

/** A publisher on a broker whose confirm channel confirms everything at once. */
function fakePublisher(): { publisher: Publisher; sent: Sent[] } {
  const sent: Sent[] = [];
  const channel = {
    publish(
      exchange: string,
      routingKey: string,
      _content: Buffer,
      props: { headers: Record<string, unknown> },
      cb: (err: unknown) => void,
    ) {
      sent.push({ exchange, routingKey, headers: props.headers });
      setImmediate(() => cb(null));
      return true;
    },
    on() {},
    async close() {},
  };
  const broker = Object.assign(new EventEmitter(), {
    state: 'connected',
    appId: 'order-api',
    user: 'order-api',
    connection: () => ({ createConfirmChannel: async () => channel }),
  });
  return { publisher: new Publisher(broker as unknown as Broker, { validate: false }), sent };
}

const publishEmail = (publisher: Publisher, traceparent?: string) =>
  publisher.publish(notifications.email, exampleMessages.email, {
    messageId: `${orderId}:email`,
    correlationId: orderId,
    ...(traceparent ? { traceparent } : {}),
  });

describe('without an OpenTelemetry SDK', () => {
  it('a message continues the given trace with a made-up child span id, or starts a new trace', async () => {
    const { publisher, sent } = fakePublisher();
    await publishEmail(publisher, PARENT);
    await publishEmail(publisher);
    const [given, none] = sent.map((s) => String(s.headers[HEADERS.traceparent]));
    expect(given).toMatch(new RegExp(`^00-${PARENT_TRACE}-[0-9a-f]{16}-01$`));
    expect(given).not.toBe(PARENT);
    expect(none).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(none!.slice(3, 35)).not.toBe(PARENT_TRACE);
  });
});

describe('with an OpenTelemetry SDK', () => {
  const exporter = new InMemorySpanExporter();
  const stops: (() => Promise<void>)[] = [];

  beforeAll(() => {
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    exporter.reset();
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  const finished = (kind: SpanKind): ReadableSpan[] =>
    exporter.getFinishedSpans().filter((s) => s.kind === kind);

  it('a publish is a PRODUCER span under the given traceparent, and the message carries that span', async () => {
    const { publisher, sent } = fakePublisher();
    await publishEmail(publisher, PARENT);
    const [span] = finished(SpanKind.PRODUCER);
    expect(span?.name).toBe('publish notification');
    expect(span?.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'notification',
      'messaging.rabbitmq.destination.routing_key': 'email',
      'messaging.message.id': `${orderId}:email`,
      'messaging.message.conversation_id': orderId,
    });
    expect(sent[0]?.headers[HEADERS.traceparent]).toBe(traceparentOf(span!.spanContext()));
  });

  it('published from a span of another trace (a webhook answered for a message), the publish links it', async () => {
    const { publisher } = fakePublisher();
    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('webhook request');
    await context.with(trace.setSpan(context.active(), request), () => publishEmail(publisher, PARENT));
    request.end();
    const [span] = finished(SpanKind.PRODUCER);
    expect(span?.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([request.spanContext().spanId]);
  });

  it('handling a delivery is a CONSUMER span under its traceparent, in which the handler publishes', async () => {
    const source = new FakeSource();
    const conn = source.connect();
    const broker = Object.assign(source, { user: 'email', addTopology: async () => undefined });
    const { publisher, sent } = fakePublisher();
    const contexts: MessageContext[] = [];
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher: { publishRaw: async () => undefined },
      handler: async ({ ctx }) => {
        contexts.push(ctx);
        // What an outcome event does: no traceparent of its own, the active span's.
        await publishEmail(publisher);
      },
    });
    stops.push(() => consumer.stop(1_000));
    await consumer.start();
    const upstream = trace.getTracer('test').startSpan('relay publish', {}, contextOfTraceparent(PARENT));
    conn.last.deliver(1, {
      content: Buffer.from(JSON.stringify(exampleMessages.email)),
      routingKey: 'email',
      properties: {
        messageId: `${orderId}:email`,
        correlationId: orderId,
        type: notifications.email.type,
        headers: { [HEADERS.traceparent]: traceparentOf(upstream.spanContext()) },
      },
    });
    await waitFor(() => (finished(SpanKind.CONSUMER).length ? true : null), { what: 'the process span' });
    const [processSpan] = finished(SpanKind.CONSUMER);
    expect(processSpan?.name).toBe('process email');
    expect(processSpan?.spanContext().traceId).toBe(PARENT_TRACE);
    expect(processSpan?.parentSpanContext?.spanId).toBe(upstream.spanContext().spanId);
    expect(processSpan?.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'email',
      'notify.outcome': 'ack',
    });
    // The handler is told the process span, and what it publishes is that span's child.
    expect(contexts[0]?.traceparent).toBe(traceparentOf(processSpan!.spanContext()));
    const [published] = finished(SpanKind.PRODUCER);
    expect(published?.parentSpanContext?.spanId).toBe(processSpan?.spanContext().spanId);
    expect(sent[0]?.headers[HEADERS.traceparent]).toBe(traceparentOf(published!.spanContext()));
  });
});
