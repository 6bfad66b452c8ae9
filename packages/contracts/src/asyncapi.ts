import { createRequire } from 'node:module';
import { exampleMessages } from './examples.js';
import { jsonSchemas } from './json-schema.js';
import { PREFERENCE_CHANNELS } from './messages.js';
import {
  allContracts,
  deliveryEvents,
  notifications,
  outcomeEvents,
  preferencesChanged,
} from './registry.js';
import type { Contract } from './registry.js';
import {
  CHANNELS,
  channelConsumers,
  fullTopology,
  HEADERS,
  orderEventsConsumer,
  preferenceConsumers,
} from './topology.js';
import type { ConsumerTopology, ExchangeSpec, ExchangeType, QueueSpec } from './topology.js';

// An AsyncAPI 3.0 description of the whole system for clients in any language, derived
// from the topology and the contracts so that it follows them: a channel for every
// (exchange, routing key) something is published to and one for every queue.

export interface AsyncApiOptions {
  /** Virtual host named in the channel bindings: the one of the broker the reader uses. */
  readonly vhost?: string;
}

type Json = Record<string, unknown>;

export interface AsyncApiDocument {
  readonly asyncapi: '3.0.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly defaultContentType: string;
  readonly servers: Record<string, Json>;
  readonly channels: Record<string, Json>;
  readonly operations: Record<string, Json>;
  readonly components: {
    readonly messages: Record<string, Json>;
    readonly schemas: Record<string, Json>;
    readonly correlationIds: Record<string, Json>;
  };
}

const BINDING = { bindingVersion: '0.3.0' } as const;
const CONTENT_TYPE = 'application/json';
const PAYLOAD_FORMAT = 'application/schema+json;version=draft-07';
const TRACEPARENT_EXAMPLE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
// Everything is declared durable and never auto-deleted (packages/messaging declares it so).
const DECLARED = { durable: true, autoDelete: false } as const;

/** The application headers; typed by HEADERS' keys so a new header cannot go undescribed. */
const HEADER_SCHEMAS: Record<keyof typeof HEADERS, Json> = {
  traceparent: {
    type: 'string',
    pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
    description: 'W3C trace context of the span that published the message. Always set.',
  },
  attempt: {
    type: 'integer',
    minimum: 1,
    description:
      'Which attempt this is (1 when absent): a retry carries the number of its coming attempt, ' +
      'a dead letter the number of attempts made.',
  },
  routingKey: {
    type: 'string',
    description:
      'Routing key the message was first published with. A retry re-enters its queue under the ' +
      "queue's name, so a consumer reads this header, when present, instead of the delivery's key.",
  },
  lastError: { type: 'string', description: 'Error of the attempt that scheduled this retry.' },
  deathReason: {
    type: 'string',
    description:
      'Why the message was dead-lettered, as a code such as `invalid-message`, ' +
      '`permanent-failure` or `max-attempts-exceeded`.',
  },
  deathDetail: {
    type: 'string',
    description: 'What went wrong, in words (validation errors, provider reply).',
  },
  deathAt: { type: 'string', format: 'date-time', description: 'When the message was dead-lettered.' },
  originalQueue: { type: 'string', description: 'Queue the message was dead-lettered from.' },
  publishedBy: {
    type: 'string',
    description:
      'Broker user that first published a message the system republished (retry, dead letter, ' +
      'replay); the `user_id` property then names the republisher. A consumer trusts it only on ' +
      'a message that came through its own `<queue>.retry` or `<queue>.dlx` exchange.',
  },
};

/** What RabbitMQ makes of the queue and exchange arguments the topology uses. */
const ARGUMENT_MEANINGS: Record<string, string> = {
  'x-queue-type': 'quorum queues are replicated and durable',
  'x-delivery-limit':
    'returns the broker allows before it dead-letters the message by itself (drops it, without a dead-letter exchange)',
  'x-dead-letter-exchange': 'where the broker dead-letters expired, rejected or over-delivered messages',
  'x-dead-letter-routing-key': 'the routing key such messages get',
  'x-dead-letter-strategy': 'at-least-once keeps a message until the dead-letter target confirms it',
  'x-overflow': 'reject-publish refuses new messages when the queue is full instead of dropping old ones',
  'alternate-exchange': 'where messages go that no binding matches',
};

function describeArguments(args: Readonly<Json>): string[] {
  const lines = Object.entries(args).map(
    ([k, v]) => `- \`${k}\` = \`${String(v)}\`${ARGUMENT_MEANINGS[k] ? `: ${ARGUMENT_MEANINGS[k]}` : ''}`,
  );
  return lines.length ? ['', 'Arguments:', ...lines] : [];
}

const keyText = (key: string) => (key === '' ? 'the empty routing key' : `routing key \`${key}\``);

/** An application of the system: the queue it consumes and the contracts it publishes. */
interface Party {
  readonly name: string;
  readonly consumer: ConsumerTopology;
  readonly publishes: readonly Contract[];
}

function parties(): Party[] {
  return [
    {
      name: 'order API',
      consumer: orderEventsConsumer,
      publishes: [...Object.values(notifications), preferencesChanged],
    },
    ...CHANNELS.map((c) => ({
      name: `${c} service`,
      consumer: channelConsumers[c],
      publishes: [...outcomeEvents[c], ...Object.values(deliveryEvents[c])],
    })),
    // The same services' second consumer: their copy of customer preferences.
    ...PREFERENCE_CHANNELS.map((c) => ({
      name: `${c} service preferences copy`,
      consumer: preferenceConsumers[c],
      publishes: [],
    })),
  ];
}

const queuesOf = (t: ConsumerTopology): QueueSpec[] => [t.queue, t.deadLetterQueue, ...t.retryQueues];

function topicMatches(pattern: readonly string[], words: readonly string[]): boolean {
  const [p, ...rest] = pattern;
  if (p === undefined) return words.length === 0;
  if (p === '#')
    return topicMatches(rest, words) || (words.length > 0 && topicMatches(pattern, words.slice(1)));
  return words.length > 0 && (p === '*' || p === words[0]) && topicMatches(rest, words.slice(1));
}

/** Whether a binding with `bindingKey` takes a message published with `routingKey`. */
function bindingTakes(type: ExchangeType, bindingKey: string, routingKey: string): boolean {
  // A headers exchange matches on header values the topology does not hold: assume it may.
  if (type === 'fanout' || type === 'headers') return true;
  if (type === 'direct') return bindingKey === routingKey;
  return topicMatches(bindingKey.split('.'), routingKey.split('.'));
}

/** Channel and operation ids: readable, and free of what a JSON pointer or address forbids. */
const idOf = (...parts: string[]) => parts.map((p) => p.replace(/[^\w.-]/g, '_')).join(':');
const queueId = (name: string) => idOf('queue', name);

class Builder {
  private readonly topology = fullTopology();
  private readonly parties = parties();
  private readonly schemas = jsonSchemas() as Record<string, Json>;
  readonly channels: Record<string, Json> = {};
  readonly operations: Record<string, Json> = {};

  constructor(private readonly vhost: string) {}

  exchange(name: string): ExchangeSpec {
    const e = this.topology.exchanges.find((x) => x.name === name);
    if (!e) throw new Error(`the topology binds to exchange "${name}" but does not declare it`);
    return e;
  }

  /** Contracts published to an exchange, directly or through it being another's alternate exchange. */
  contractsReaching(exchange: string): Contract[] {
    const forwarders = this.topology.exchanges.filter((e) => e.arguments['alternate-exchange'] === exchange);
    return [
      ...allContracts.filter((c) => c.exchange === exchange),
      ...forwarders.flatMap((e) => this.contractsReaching(e.name)),
    ];
  }

  /** Contracts a queue holds; a consumer's retry and dead-letter queues hold what its work queue does. */
  contractsIn(queue: string): Contract[] {
    const owner = this.parties.find((p) => queuesOf(p.consumer).some((q) => q.name === queue));
    const target = owner?.consumer.queue.name ?? queue;
    return this.topology.bindings
      .filter((b) => b.queue === target)
      .flatMap((b) =>
        this.contractsReaching(b.exchange).filter((c) =>
          bindingTakes(this.exchange(b.exchange).type, b.routingKey, c.routingKey),
        ),
      );
  }

  addChannel(id: string, channel: Json, contracts: readonly Contract[]): void {
    if (this.channels[id]) throw new Error(`two channels would share the id "${id}"`);
    const messages = Object.fromEntries(
      contracts.map((c) => [c.type, { $ref: `#/components/messages/${c.type}` }]),
    );
    this.channels[id] = { ...channel, messages };
  }

  routeChannel(exchangeName: string, routingKey: string, contracts: readonly Contract[]): void {
    const id = idOf(exchangeName, routingKey);
    if (this.channels[id]) return;
    const ex = this.exchange(exchangeName);
    const queues = this.topology.bindings
      .filter((b) => b.exchange === ex.name && bindingTakes(ex.type, b.routingKey, routingKey))
      .map((b) => `\`${b.queue}\``);
    const description = [
      `Published to the ${ex.type} exchange \`${ex.name}\` with ${keyText(routingKey)}; ` +
        (queues.length ? `bound to ${queues.join(', ')}.` : 'no queue is bound for it.'),
      ...describeArguments(ex.arguments),
    ].join('\n');
    const exchange = { name: ex.name, type: ex.type, ...DECLARED, vhost: this.vhost };
    this.addChannel(
      id,
      { address: routingKey, description, bindings: { amqp: { is: 'routingKey', exchange, ...BINDING } } },
      contracts,
    );
  }

  queueChannel(q: QueueSpec): void {
    const owner = this.parties.find((p) => queuesOf(p.consumer).some((x) => x.name === q.name));
    const sources = this.topology.bindings
      .filter((b) => b.queue === q.name)
      .map((b) => {
        const forwards = this.topology.exchanges.filter(
          (e) => e.arguments['alternate-exchange'] === b.exchange,
        );
        const alternate = forwards.length
          ? ` (the alternate exchange of ${forwards.map((e) => `\`${e.name}\``).join(', ')})`
          : '';
        return `- from \`${b.exchange}\`${alternate} with ${keyText(b.routingKey)}`;
      });
    const description = [
      ...(owner ? [queueRole(owner, q), ''] : []),
      'Bound:',
      ...sources,
      ...describeArguments(q.arguments),
    ].join('\n');
    const queue = { name: q.name, ...DECLARED, exclusive: false, vhost: this.vhost };
    this.addChannel(
      queueId(q.name),
      { address: q.name, description, bindings: { amqp: { is: 'queue', queue, ...BINDING } } },
      this.contractsIn(q.name),
    );
  }

  operation(party: Party, action: 'send' | 'receive', channelId: string, summary: string, only?: Contract) {
    const id = `${idOf(party.name.toLowerCase().replace(/\s+/g, '-'), action)}:${channelId}`;
    if (this.operations[id]) throw new Error(`two operations would share the id "${id}"`);
    const types = only ? [only.type] : Object.keys(this.channels[channelId]?.['messages'] as Json);
    const amqp = action === 'send' ? { deliveryMode: 2, mandatory: true, timestamp: true } : { ack: true };
    this.operations[id] = {
      action,
      channel: { $ref: `#/channels/${channelId}` },
      summary,
      tags: [{ name: party.name }],
      messages: types.map((t) => ({ $ref: `#/channels/${channelId}/messages/${t}` })),
      bindings: { amqp: { ...amqp, ...BINDING } },
    };
  }

  build(): void {
    for (const c of allContracts) this.routeChannel(c.exchange, c.routingKey, contractsOn(c));
    // Exchanges no contract reaches carry the system's own re-routing: retries and dead letters.
    for (const b of this.topology.bindings) {
      if (this.contractsReaching(b.exchange).length === 0) {
        this.routeChannel(b.exchange, b.routingKey, this.contractsIn(b.queue));
      }
    }
    for (const q of this.topology.queues) this.queueChannel(q);
    for (const p of this.parties) this.partyOperations(p);
  }

  /** What a party publishes and consumes, and how its consumer re-routes what fails. */
  partyOperations(p: Party): void {
    const t = p.consumer;
    for (const c of p.publishes) {
      this.operation(p, 'send', idOf(c.exchange, c.routingKey), `The ${p.name} publishes ${c.type}.`, c);
    }
    this.operation(
      p,
      'receive',
      queueId(t.queue.name),
      `The ${p.name} consumes \`${t.queue.name}\` and acknowledges each message once its work is done.`,
    );
    t.retryQueues.forEach((q, i) => {
      const key = t.retryRoutingKey(i + 1);
      const b = t.bindings.find((x) => x.queue === q.name && x.routingKey === key);
      if (!b) throw new Error(`retry level ${i + 1} of "${t.queue.name}" has no binding`);
      this.operation(
        p,
        'send',
        idOf(b.exchange, key),
        `The ${p.name} schedules retry ${i + 1} of a failed delivery from \`${t.queue.name}\`: the ` +
          `message, with the retry headers and an \`expiration\` of the backoff delay, waits in ` +
          `\`${q.name}\` and then returns to \`${t.queue.name}\`.`,
      );
    });
    const dl = t.bindings.find(
      (x) => x.queue === t.deadLetterQueue.name && x.routingKey === t.deadLetterRoutingKey,
    );
    if (!dl) throw new Error(`the dead-letter queue of "${t.queue.name}" has no binding`);
    this.operation(
      p,
      'send',
      idOf(dl.exchange, dl.routingKey),
      `The ${p.name} moves a message from \`${t.queue.name}\` that is invalid, failed permanently ` +
        `or ran out of attempts to \`${t.deadLetterQueue.name}\`, with the dead-letter headers.`,
    );
  }

  message(type: string): Json {
    const schema = this.schemas[type];
    if (!schema) throw new Error(`no JSON Schema for ${type}`);
    const contracts = allContracts.filter((c) => c.type === type);
    const routes = [...new Set(contracts.map((c) => c.exchange))].map((e) => {
      const keys = contracts.filter((c) => c.exchange === e).map((c) => `\`${c.routingKey}\``);
      return `\`${e}\` with routing key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    });
    const example = exampleFor(type);
    const properties = schema['properties'] as Json | undefined;
    return {
      name: type,
      title: schema['title'] ?? type,
      description: `AMQP \`type\` property \`${type}\`; published to ${routes.join(', ')}.`,
      contentType: CONTENT_TYPE,
      headers: { $ref: '#/components/schemas/headers' },
      payload: { schemaFormat: PAYLOAD_FORMAT, schema },
      ...(properties?.['orderId'] ? { correlationId: { $ref: '#/components/correlationIds/orderId' } } : {}),
      bindings: { amqp: { messageType: type, ...BINDING } },
      ...(example
        ? {
            examples: [
              { name: 'example', headers: { [HEADERS.traceparent]: TRACEPARENT_EXAMPLE }, payload: example },
            ],
          }
        : {}),
    };
  }
}

/** Contracts that travel with the same exchange and routing key as `c`. */
const contractsOn = (c: Contract) =>
  allContracts.filter((x) => x.exchange === c.exchange && x.routingKey === c.routingKey);

function exampleFor(type: string): unknown {
  const channel = CHANNELS.find((c) => notifications[c].type === type);
  return channel ? exampleMessages[channel] : undefined;
}

function queueRole(p: Party, q: QueueSpec): string {
  const t = p.consumer;
  if (q.name === t.queue.name) return `Work queue of the ${p.name}.`;
  if (q.name === t.deadLetterQueue.name) {
    return `Dead letters of \`${t.queue.name}\`: kept, with the dead-letter headers, until an operator replays or discards them.`;
  }
  const level = t.retryQueues.findIndex((x) => x.name === q.name) + 1;
  return (
    `Retry level ${level} of \`${t.queue.name}\`: a message waits here for its \`expiration\` (the ` +
    'backoff delay), then the broker dead-letters it back towards the work queue.'
  );
}

function infoDescription(): string {
  const type = allContracts[0]?.type ?? '<name>.v<version>';
  return [
    'Order notification fan-out over RabbitMQ (AMQP 0-9-1). The order API publishes one notification per ' +
      'channel; each channel has a service that consumes its own quorum queue and publishes outcome events ' +
      'to a topic exchange, which the order API consumes to track every channel of an order. A failed ' +
      'delivery is retried through per-level holding queues with growing delays; an invalid or ' +
      "permanently failed one goes to its queue's dead-letter queue. Delivery is at least once: " +
      'consumers de-duplicate on `message_id`.',
    '',
    'Every message is persistent (delivery mode 2), published mandatory with publisher confirms, and ' +
      'carries these AMQP properties:',
    '- `message_id` (messageId): a stable id of the message; retries and dead letters keep it.',
    "- `correlation_id` (correlationId): the order id, the same as the payload's `orderId`.",
    `- \`type\`: \`<name>.v<version>\` of the contract, for example \`${type}\`. Several message types share a ` +
      "queue and some payloads look alike: dispatch on `type`, never on the payload's shape.",
    `- \`content_type\`: \`${CONTENT_TYPE}\`; the body is UTF-8 JSON, with no content encoding.`,
    '- `timestamp`: when the message was first published, in seconds since the Unix epoch.',
    '- `app_id` (appId): the name of the service that first published the message.',
    '',
    'Application headers:',
    ...Object.entries(HEADERS).map(
      ([key, name]) => `- \`${name}\`: ${String(HEADER_SCHEMAS[key as keyof typeof HEADERS]['description'])}`,
    ),
  ].join('\n');
}

function version(): string {
  // One level up from both src/ and dist/.
  const pkg = createRequire(import.meta.url)('../package.json') as { version: string };
  return pkg.version;
}

/** The AsyncAPI document of the system, as an object ready to serve as JSON. */
export function asyncApiDocument(options: AsyncApiOptions = {}): AsyncApiDocument {
  const b = new Builder(options.vhost ?? '/');
  b.build();
  const types = [...new Set(allContracts.map((c) => c.type))];
  return {
    asyncapi: '3.0.0',
    info: { title: 'Order notifications', version: version(), description: infoDescription() },
    defaultContentType: CONTENT_TYPE,
    servers: {
      local: {
        host: '127.0.0.1:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'The RabbitMQ broker of a local run (the default `AMQP_URL`).',
      },
      production: {
        host: 'rabbitmq.example.com:5671',
        protocol: 'amqps',
        protocolVersion: '0.9.1',
        description:
          'Placeholder, not a real address: each deployment names its broker in `AMQP_URL`. A client ' +
          'from outside the deployment should connect with TLS and a broker user of its own.',
      },
    },
    channels: b.channels,
    operations: b.operations,
    components: {
      messages: Object.fromEntries(types.map((t) => [t, b.message(t)])),
      schemas: {
        headers: {
          type: 'object',
          required: [HEADERS.traceparent],
          properties: Object.fromEntries(
            Object.entries(HEADERS).map(([key, name]) => [name, HEADER_SCHEMAS[key as keyof typeof HEADERS]]),
          ),
        },
      },
      correlationIds: {
        orderId: {
          description:
            "The AMQP `correlation_id` property carries the order id, which is also the payload's " +
            '`orderId`; AsyncAPI locations reach only headers and payload, so this points at the payload.',
          location: '$message.payload#/orderId',
        },
      },
    },
  };
}
