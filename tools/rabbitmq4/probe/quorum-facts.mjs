// Measures how the broker at AMQP_URL treats quorum-queue delivery limits, returns and
// dead-letter settings: the facts tools/rabbitmq4/README.md tabulates. Run it against
// each broker version (the same environment variables as the tests):
//
//   node tools/rabbitmq4/probe/quorum-facts.mjs
//   env $(tools/rabbitmq4/rabbitmq4 env) node tools/rabbitmq4/probe/quorum-facts.mjs
//
// Everything happens in a vhost of its own, deleted at the end. It waits on conditions
// (a returned message becoming available again), never on fixed pauses.
/* global process, URL, Buffer, fetch, AbortSignal, setTimeout, console -- a plain Node script */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
/** More returns than 4.0's default limit of 20 allows, so a drop shows. */
const RETURNS = 25;

const amqpUrl = new URL(AMQP_URL);
const authorization = `Basic ${Buffer.from(
  `${decodeURIComponent(amqpUrl.username || 'guest')}:${decodeURIComponent(amqpUrl.password || 'guest')}`,
).toString('base64')}`;

async function management(method, path, body) {
  const res = await fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: { authorization, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

async function until(what, check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const vhost = `rabbitmq4-probe-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const v = encodeURIComponent(vhost);
const results = [];
const record = (fact, raw) => {
  const result = raw.replace(/\s+/g, ' ').trim();
  results.push([fact, result]);
  console.log(`${fact}: ${result}`);
};

const overview = await management('GET', '/overview');
if (overview.status !== 200) throw new Error(`management API at ${MANAGEMENT_URL}: ${overview.status}`);
const version = overview.json.rabbitmq_version;
await management('PUT', `/vhosts/${v}`, {});
const user = decodeURIComponent(amqpUrl.username || 'guest');
await management('PUT', `/permissions/${v}/${encodeURIComponent(user)}`, {
  configure: '.*',
  write: '.*',
  read: '.*',
});
const url = new URL(AMQP_URL);
url.pathname = `/${v}`;
const connection = await amqplib.connect(url.toString());
connection.on('error', () => undefined);

/** Declares a queue on a channel of its own: "ok", or the broker's refusal. */
async function declare(name, args) {
  const ch = await connection.createChannel();
  ch.on('error', () => undefined);
  try {
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } });
    await ch.close();
    return 'ok';
  } catch (err) {
    return String(err.message).replace(/^Operation failed: QueueDeclare; /, '');
  }
}

async function publishOne(queue) {
  const ch = await connection.createConfirmChannel();
  ch.sendToQueue(queue, Buffer.from('probe'), { persistent: true });
  await ch.waitForConfirms();
  await ch.close();
}

/**
 * Takes the queue's one message with basic.get and gives it back, `RETURNS` times or
 * until it is gone: by closing the channel with the message unacknowledged, or by
 * basic.nack with requeue. Reports the deliveries and the x-delivery-count headers seen.
 */
async function returnLoop(queue, how) {
  const counts = [];
  for (let i = 0; i < RETURNS + 1; i++) {
    const ch = await connection.createChannel();
    // A return reaches a quorum queue through its log: wait for the message to be ready.
    const msg = await until('message', () => ch.get(queue, { noAck: false }), 5_000);
    if (!msg) {
      await ch.close();
      return { delivered: counts.length, counts, gone: true };
    }
    counts.push(msg.properties.headers?.['x-delivery-count'] ?? 'none');
    if (i === RETURNS) {
      ch.ack(msg);
      await ch.close();
      break;
    }
    if (how === 'nack') ch.nack(msg, false, true);
    await ch.close();
  }
  return { delivered: counts.length, counts, gone: false };
}

const summary = (r) =>
  `${r.gone ? `gone after ${r.delivered} deliveries` : `still there after ${r.delivered} deliveries`}` +
  `; x-delivery-count seen: ${[...new Set([r.counts[0], r.counts.at(-1)])].join(' .. ')}`;

try {
  record('broker', `RabbitMQ ${version}`);
  record('declare x-delivery-limit: -1', await declare('limit-minus-one', { 'x-delivery-limit': -1 }));
  record('declare x-delivery-limit: 0', await declare('limit-zero', { 'x-delivery-limit': 0 }));

  await declare('default-close', {});
  await publishOne('default-close');
  record(
    'no x-delivery-limit, basic.get + channel close',
    summary(await returnLoop('default-close', 'close')),
  );

  await declare('default-nack', {});
  await publishOne('default-nack');
  record('no x-delivery-limit, basic.get + nack(requeue)', summary(await returnLoop('default-nack', 'nack')));

  if ((await declare('unlimited', { 'x-delivery-limit': -1 })) === 'ok') {
    await publishOne('unlimited');
    record(
      'x-delivery-limit: -1, basic.get + channel close',
      summary(await returnLoop('unlimited', 'close')),
    );
  }

  record(
    'declare at-least-once + reject-publish + dead-letter exchange',
    await declare('alo', {
      'x-dead-letter-exchange': 'amq.direct',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    }),
  );
  record(
    'declare at-least-once without reject-publish',
    await declare('alo-drop-head', {
      'x-dead-letter-exchange': 'amq.direct',
      'x-dead-letter-strategy': 'at-least-once',
    }),
  );

  await declare('redeclare', { 'x-delivery-limit': 20 });
  record('redeclare, same x-delivery-limit 20', await declare('redeclare', { 'x-delivery-limit': 20 }));
  record('redeclare, x-delivery-limit 20 -> 10', await declare('redeclare', { 'x-delivery-limit': 10 }));
  record('redeclare, x-delivery-limit 20 -> none', await declare('redeclare', {}));
  record(
    'redeclare, add x-dead-letter-strategy',
    await declare('redeclare', { 'x-delivery-limit': 20, 'x-dead-letter-strategy': 'at-least-once' }),
  );
  await declare('plain', {});
  record('redeclare, none -> x-delivery-limit 20', await declare('plain', { 'x-delivery-limit': 20 }));

  const policy = {
    pattern: '^policy\\.',
    definition: { 'delivery-limit': 2, 'dead-letter-strategy': 'at-least-once', overflow: 'reject-publish' },
    priority: 1,
  };
  for (const applyTo of ['quorum_queues', 'queues']) {
    const r = await management('PUT', `/policies/${v}/limits-${applyTo}`, { ...policy, 'apply-to': applyTo });
    record(
      `policy apply-to ${applyTo} (HTTP, as set_policy)`,
      r.status < 300 ? 'accepted' : `${r.status} ${r.json?.reason ?? r.text}`,
    );
  }
  const minusOne = await management('PUT', `/policies/${v}/limit-minus-one`, {
    pattern: '^nothing$',
    definition: { 'delivery-limit': -1 },
    'apply-to': 'queues',
  });
  record(
    'policy delivery-limit: -1',
    minusOne.status < 300 ? 'accepted' : `${minusOne.status} ${minusOne.json?.reason ?? minusOne.text}`,
  );
  const definitions = await management('POST', `/definitions/${v}`, {
    policies: [{ name: 'from-definitions', ...policy, pattern: '^defs\\.', 'apply-to': 'quorum_queues' }],
  });
  record(
    'definitions file policy, apply-to quorum_queues',
    definitions.status < 300
      ? 'accepted'
      : `${definitions.status} ${definitions.json?.reason ?? definitions.text}`,
  );
  const defsLegacy = await management('POST', `/definitions/${v}`, {
    policies: [{ name: 'from-definitions-queues', ...policy, pattern: '^defs2\\.', 'apply-to': 'queues' }],
  });
  record(
    'definitions file policy, apply-to queues',
    defsLegacy.status < 300
      ? 'accepted'
      : `${defsLegacy.status} ${defsLegacy.json?.reason ?? defsLegacy.text}`,
  );

  // Does a policy's delivery limit reach a queue declared without one?
  await declare('policy.limited', {});
  const applied = await until('policy', async () => {
    const r = await management('GET', `/queues/${v}/policy.limited`);
    return r.json?.policy ? r.json : null;
  });
  record(
    'policy on a queue declared without a limit',
    applied
      ? `policy ${applied.policy}, delivery_limit ${applied.delivery_limit ?? 'not shown'}`
      : 'no policy applied',
  );
  await publishOne('policy.limited');
  record(
    '  policy delivery-limit 2, basic.get + channel close',
    summary(await returnLoop('policy.limited', 'close')),
  );
} finally {
  await connection.close().catch(() => undefined);
  await management('DELETE', `/vhosts/${v}`);
}

console.log('\n| fact | result |\n| --- | --- |');
for (const [fact, result] of results) console.log(`| ${fact.trim()} | ${result} |`);
