#!/usr/bin/env node
// Runs before `npm test` (the root package's `pretest`): checks what the tests need from the
// machine, in parallel and within a few seconds, and prints one line per missing piece with
// the command that provides it. Plain JavaScript with no dependencies, so it works before
// anything is built. The list is the README's "Prerequisites" list.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import net from 'node:net';

const TIMEOUT_MS = 3_000;
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MIN_NODE = [20, 19];

/** Opens a TCP connection, writes `hello` and resolves with the first bytes the server sends. */
function firstReply(host, port, hello) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    socket.once('connect', () => socket.write(hello));
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(data);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without an answer'));
    });
  });
}

function hostPort(url, defaultPort) {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || defaultPort), u };
}

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

const checks = [
  {
    what: `Node.js ${MIN_NODE.join('.')} or newer`,
    fix: 'install Node.js 24 LTS (or 20.19+) from nodejs.org or your package manager',
    async run() {
      const [major, minor] = process.versions.node.split('.').map(Number);
      if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1]))
        throw new Error(`found ${process.versions.node}`);
    },
  },
  {
    what: `RabbitMQ at ${redact(AMQP_URL)}`,
    fix: "start it: 'rabbitmq-server -detached' (Debian package rabbitmq-server), or set AMQP_URL",
    async run() {
      const { host, port } = hostPort(AMQP_URL, 5672);
      const reply = await firstReply(host, port, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
      // A server that speaks AMQP 0-9-1 answers the protocol header with a method frame (type 1).
      if (reply[0] !== 1) throw new Error('the port answers, but not as an AMQP 0-9-1 broker');
    },
  },
  {
    what: `RabbitMQ management API at ${MANAGEMENT_URL} (the tests create their own vhosts with it)`,
    fix: "enable the plugin: 'rabbitmq-plugins enable rabbitmq_management', or set RABBITMQ_MANAGEMENT_URL",
    async run() {
      const { u } = hostPort(AMQP_URL, 5672);
      const user = decodeURIComponent(u.username || 'guest');
      const pass = decodeURIComponent(u.password || 'guest');
      const res = await fetch(new URL('/api/overview', MANAGEMENT_URL), {
        headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`answered HTTP ${res.status}`);
    },
  },
  {
    what: `PostgreSQL at ${redact(DATABASE_URL)}`,
    fix: "start it: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' (Debian package postgresql), or set DATABASE_URL",
    async run() {
      const { host, port } = hostPort(DATABASE_URL, 5432);
      // SSLRequest: a PostgreSQL server answers with one byte, 'S' or 'N'.
      const hello = Buffer.alloc(8);
      hello.writeInt32BE(8, 0);
      hello.writeInt32BE(80877103, 4);
      const reply = await firstReply(host, port, hello);
      if (reply[0] !== 0x53 && reply[0] !== 0x4e) throw new Error('the port answers, but not as PostgreSQL');
    },
  },
  {
    what: `Redis at ${redact(REDIS_URL)} (the shared rate limit across API replicas is tested against it)`,
    fix: 'start it: \'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""\' (Debian package redis-server), or set REDIS_URL',
    async run() {
      const { host, port } = hostPort(REDIS_URL, 6379);
      // An inline PING; a Redis server answers +PONG, or -NOAUTH when it wants a password.
      const reply = (await firstReply(host, port, Buffer.from('PING\r\n'))).toString('latin1');
      if (!reply.startsWith('+PONG') && !reply.startsWith('-NOAUTH'))
        throw new Error('the port answers, but not as Redis');
    },
  },
  {
    what: `Chromium at ${CHROMIUM_PATH} (the end-to-end page checks drive it headless)`,
    fix: "install it: 'apt-get update && apt-get install -y chromium', or set CHROMIUM_PATH",
    async run() {
      accessSync(CHROMIUM_PATH, constants.X_OK);
    },
  },
  {
    what: 'kubectl (renders the Kubernetes manifests with its built-in kustomize)',
    fix: "install it: the 'kubectl' package of the Kubernetes apt repository or 'gcloud components install kubectl'",
    async run() {
      const r = spawnSync('kubectl', ['version', '--client'], { timeout: TIMEOUT_MS, stdio: 'ignore' });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`exited with ${r.status}`);
    },
  },
];

const results = await Promise.all(
  checks.map(async (c) => {
    try {
      await c.run();
      return null;
    } catch (err) {
      return `missing: ${c.what}: ${err instanceof Error ? err.message : String(err)}. Fix: ${c.fix}`;
    }
  }),
);
const missing = results.filter(Boolean);
if (missing.length > 0) {
  for (const line of missing) console.error(line);
  console.error(`${missing.length} prerequisite(s) missing; see README.md, "Prerequisites".`);
  process.exit(1);
}
console.log(`prerequisites: all ${checks.length} present`);
