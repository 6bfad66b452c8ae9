import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import type { AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allContracts,
  asyncApiDocument,
  CHANNELS,
  channelConsumers,
  events,
  EXCHANGES,
  exampleMessages,
  fullTopology,
  jsonSchemas,
  notifications,
  preferencesChanged,
  orderEventsConsumer,
  outcomeEvents,
} from './index.js';

const doc = asyncApiDocument();
let parsed: AsyncAPIDocumentInterface;
let diagnostics: Awaited<ReturnType<Parser['parse']>>['diagnostics'];

beforeAll(async () => {
  const out = await new Parser().parse(JSON.stringify(doc));
  diagnostics = out.diagnostics;
  if (!out.document) throw new Error(`the parser rejected the document: ${JSON.stringify(diagnostics)}`);
  parsed = out.document;
}, 60_000);

type Bindings = { get(name: string): { value(): unknown } | undefined };
type WithMessages = { messages(): { all(): { id(): string }[] } };

const amqp = (bindings: Bindings) => bindings.get('amqp')?.value() as Record<string, unknown> | undefined;
const messageIds = (x: WithMessages | undefined) =>
  x
    ?.messages()
    .all()
    .map((m) => m.id())
    .sort();
const exchangeOf = (bindings: Bindings) =>
  (amqp(bindings)?.['exchange'] as { name?: string } | undefined)?.name;
const queueChannel = (name: string) =>
  parsed
    .channels()
    .all()
    .find((ch) => amqp(ch.bindings())?.['is'] === 'queue' && ch.address() === name);
const receiverOf = (queue: string) =>
  parsed
    .operations()
    .filterByReceive()
    .find((op) =>
      op
        .channels()
        .all()
        .some((ch) => ch.address() === queue),
    );
const eventContracts = allContracts.filter((c) => c.exchange === EXCHANGES.events.name);
const eventTypes = [...new Set(eventContracts.map((c) => c.type))].sort();

describe('AsyncAPI document', () => {
  it('is valid for the AsyncAPI parser, with no errors and no warnings', () => {
    // Severity 0 is an error, 1 a warning; below that are hints such as "3.1.0 exists".
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message}`)).toEqual([]);
  });

  it('is the committed asyncapi.json (run the build after changing contracts or topology)', () => {
    const file = fileURLToPath(new URL('../asyncapi.json', import.meta.url));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(doc);
  });

  it.each(allContracts.map((c) => [`${c.type} on ${c.routingKey}`, c] as const))(
    'describes %s with its JSON Schema, AMQP type and a channel for its route',
    (_, contract) => {
      const message = parsed.components().messages().get(contract.type);
      // The parser keeps the multi-format wrapper and tags every subschema with an id of its own.
      expect(message?.payload()?.json()).toMatchObject({ schema: jsonSchemas()[contract.type]! });
      expect(amqp(message!.bindings())).toMatchObject({ messageType: contract.type });
      // Everything about an order correlates by its id; preference changes concern no order.
      const aboutAnOrder = 'orderId' in (contract.schema as { properties: object }).properties;
      expect(message?.correlationId()?.location()).toBe(
        aboutAnOrder ? '$message.payload#/orderId' : undefined,
      );
      expect(aboutAnOrder).toBe(contract !== preferencesChanged);
      const route = parsed
        .channels()
        .all()
        .find(
          (ch) => ch.address() === contract.routingKey && exchangeOf(ch.bindings()) === contract.exchange,
        );
      expect(messageIds(route)).toContain(contract.type);
    },
  );

  it('has a queue channel, with its name, arguments and the messages it holds, for every queue', () => {
    for (const q of fullTopology().queues) {
      const ch = queueChannel(q.name);
      expect(ch, q.name).toBeDefined();
      expect(amqp(ch!.bindings())?.['queue']).toMatchObject({ name: q.name, durable: true });
      for (const [key, value] of Object.entries(q.arguments)) {
        expect(ch!.description()).toContain(`\`${key}\` = \`${String(value)}\``);
      }
    }
    for (const c of CHANNELS) {
      const t = channelConsumers[c];
      for (const q of [t.queue, t.deadLetterQueue, ...t.retryQueues]) {
        expect(messageIds(queueChannel(q.name))).toEqual([notifications[c].type]);
      }
    }
    expect(messageIds(queueChannel(orderEventsConsumer.queue.name))).toEqual(eventTypes);
  });

  it('has a channel for every order.events routing key, and the order API receives every event', () => {
    const routes = parsed
      .channels()
      .all()
      .filter((ch) => exchangeOf(ch.bindings()) === EXCHANGES.events.name);
    expect(routes.map((ch) => ch.address()).sort()).toEqual(eventContracts.map((c) => c.routingKey).sort());
    expect(messageIds(receiverOf(orderEventsConsumer.queue.name))).toEqual(eventTypes);
  });

  it('sends each notification persistent and mandatory, and receives each work queue with acks', () => {
    for (const c of CHANNELS) {
      const send = parsed
        .operations()
        .filterBySend()
        .find((op) => messageIds(op)?.includes(notifications[c].type));
      expect(amqp(send!.bindings())).toMatchObject({ deliveryMode: 2, mandatory: true });
      expect(amqp(receiverOf(channelConsumers[c].queue.name)!.bindings())).toMatchObject({ ack: true });
    }
  });

  it('gives every outcome event exactly one sending service', () => {
    const sent = Object.values(outcomeEvents).flatMap((list) => list.map((c) => c.type));
    expect(sent.sort()).toEqual(
      Object.values(events)
        .map((c) => c.type)
        .sort(),
    );
  });

  it('carries the sample of each notification as its example', () => {
    for (const c of CHANNELS) {
      const examples = parsed.components().messages().get(notifications[c].type)?.examples().all();
      expect(examples?.map((e) => e.payload())).toEqual([exampleMessages[c]]);
    }
  });

  it('names the vhost it is given in every channel binding', () => {
    const vhosts = Object.values(asyncApiDocument({ vhost: 'notify' }).channels).map((ch) => {
      const binding = (
        ch['bindings'] as { amqp: { exchange?: { vhost: string }; queue?: { vhost: string } } }
      ).amqp;
      return (binding.exchange ?? binding.queue)?.vhost;
    });
    expect(new Set(vhosts)).toEqual(new Set(['notify']));
  });
});
