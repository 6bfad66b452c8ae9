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

const amqpBinding = (bindings: { get(name: string): { value(): unknown } | undefined }) =>
  bindings.get('amqp')?.value() as Record<string, unknown> | undefined;

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
      expect(amqpBinding(message!.bindings())).toMatchObject({ messageType: contract.type });
      expect(message?.correlationId()?.location()).toBe('$message.payload#/orderId');
      const route = parsed
        .channels()
        .all()
        .find((ch) => {
          const amqp = amqpBinding(ch.bindings());
          return (
            ch.address() === contract.routingKey &&
            (amqp?.['exchange'] as { name?: string } | undefined)?.name === contract.exchange
          );
        });
      expect(
        route
          ?.messages()
          .all()
          .map((m) => m.id()),
      ).toContain(contract.type);
    },
  );

  it('has a queue channel, with its name and the messages it holds, for every queue of the topology', () => {
    for (const q of fullTopology().queues) {
      const ch = parsed
        .channels()
        .all()
        .find((c) => amqpBinding(c.bindings())?.['is'] === 'queue' && c.address() === q.name);
      expect(ch, q.name).toBeDefined();
      expect(amqpBinding(ch!.bindings())?.['queue']).toMatchObject({ name: q.name, durable: true });
      for (const [key, value] of Object.entries(q.arguments)) {
        expect(ch!.description()).toContain(`\`${key}\` = \`${String(value)}\``);
      }
    }
    const held = (queue: string) =>
      parsed
        .channels()
        .all()
        .find((c) => amqpBinding(c.bindings())?.['is'] === 'queue' && c.address() === queue)!
        .messages()
        .all()
        .map((m) => m.id())
        .sort();
    for (const c of CHANNELS) {
      const t = channelConsumers[c];
      for (const q of [t.queue, t.deadLetterQueue, ...t.retryQueues]) {
        expect(held(q.name)).toEqual([notifications[c].type]);
      }
    }
    const eventTypes = [
      ...new Set(allContracts.filter((c) => c.exchange === EXCHANGES.events.name).map((c) => c.type)),
    ];
    expect(held(orderEventsConsumer.queue.name)).toEqual(eventTypes.sort());
  });

  it('has a channel for every order.events routing key, received by the order API', () => {
    const keys = allContracts.filter((c) => c.exchange === EXCHANGES.events.name).map((c) => c.routingKey);
    const routes = parsed
      .channels()
      .all()
      .filter(
        (ch) =>
          (amqpBinding(ch.bindings())?.['exchange'] as { name?: string })?.name === EXCHANGES.events.name,
      );
    expect(routes.map((ch) => ch.address()).sort()).toEqual([...keys].sort());
    const received = parsed
      .operations()
      .filterByReceive()
      .find((op) =>
        op
          .channels()
          .all()
          .some((ch) => ch.address() === orderEventsConsumer.queue.name),
      );
    expect(
      received
        ?.messages()
        .all()
        .map((m) => m.id())
        .sort(),
    ).toEqual(
      [
        ...new Set(allContracts.filter((c) => c.exchange === EXCHANGES.events.name).map((c) => c.type)),
      ].sort(),
    );
  });

  it('sends each notification persistent and mandatory, and receives each work queue with acks', () => {
    const sends = parsed.operations().filterBySend();
    for (const c of CHANNELS) {
      const send = sends.find((op) =>
        op
          .messages()
          .all()
          .some((m) => m.id() === notifications[c].type),
      );
      expect(amqpBinding(send!.bindings())).toMatchObject({ deliveryMode: 2, mandatory: true });
      const receive = parsed
        .operations()
        .filterByReceive()
        .find((op) =>
          op
            .channels()
            .all()
            .some((ch) => ch.address() === channelConsumers[c].queue.name),
        );
      expect(amqpBinding(receive!.bindings())).toMatchObject({ ack: true });
    }
  });

  it('gives every outcome event exactly one sending service', () => {
    const senders = Object.values(outcomeEvents).flat();
    expect(senders.map((c) => c.type).sort()).toEqual(
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
      const amqp = (ch['bindings'] as { amqp: { exchange?: { vhost: string }; queue?: { vhost: string } } })
        .amqp;
      return (amqp.exchange ?? amqp.queue)?.vhost;
    });
    expect(new Set(vhosts)).toEqual(new Set(['notify']));
  });
});
