import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

// Test support for suites that use the real broker: each suite gets a vhost of its
// own, so suites run in parallel and repeatedly without seeing each other's queues.

const run = promisify(execFile);

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';

function auth(): string {
  const u = new URL(AMQP_URL);
  const user = decodeURIComponent(u.username || 'guest');
  const pass = decodeURIComponent(u.password || 'guest');
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

async function management(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: { authorization: auth(), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
}

let managementAvailable: boolean | undefined;
async function hasManagement(): Promise<boolean> {
  if (managementAvailable === undefined) {
    try {
      managementAvailable = (await management('GET', '/overview')).ok;
    } catch {
      managementAvailable = false;
    }
  }
  return managementAvailable;
}

export interface QueueInfo {
  readonly name: string;
  readonly messages: number;
  readonly consumers: number;
}

export interface PeekedMessage {
  readonly payload: string;
  readonly properties: {
    headers?: Record<string, unknown>;
    message_id?: string;
    type?: string;
    [k: string]: unknown;
  };
  readonly routing_key: string;
}

/** A broker user's permissions on a vhost, as RabbitMQ's regexes over resource names. */
export interface Permissions {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface TestVhost {
  readonly vhost: string;
  /** AMQP URL of the vhost, with the same credentials as AMQP_URL. */
  readonly url: string;
  queue(name: string): Promise<QueueInfo | undefined>;
  queues(): Promise<QueueInfo[]>;
  /** Reads (and removes) up to `count` messages from a queue. */
  take(queue: string, count?: number): Promise<PeekedMessage[]>;
  /** Names of client connections to this vhost. */
  connections(): Promise<{ name: string; clientName: string | undefined }[]>;
  /** Closes every client connection to this vhost, as a broker restart would. */
  closeConnections(): Promise<number>;
  /**
   * Creates broker user `<vhost>-<suffix>` with the given permissions on this vhost
   * (regexes; every permission by default), deleted with the vhost, and returns the
   * vhost's AMQP URL with its credentials.
   */
  addUser(suffix: string, permissions?: Partial<Permissions>): Promise<string>;
  delete(): Promise<void>;
}

/** Leftovers of a run that was killed before its cleanup are this old at least. */
export const STALE_AFTER_MS = 6 * 3_600_000;

/** The creation time encoded in a `<prefix><sep><base36 ms><sep><6 hex>` name, if it is one. */
export function scratchNameAge(
  name: string,
  prefix: string,
  sep: '-' | '_',
  now = Date.now(),
): number | null {
  if (!name.startsWith(`${prefix}${sep}`)) return null;
  const rest = name.slice(prefix.length + 1).split(sep);
  if (rest.length !== 2 || !/^[0-9a-z]{6,10}$/.test(rest[0]!) || !/^[0-9a-f]{6}$/.test(rest[1]!)) return null;
  return now - parseInt(rest[0]!, 36);
}

/**
 * Deletes vhosts named `<prefix>-<time>-<hex>` (and users named after them) that are
 * older than `olderThanMs`: what suites killed before their cleanup (a CI run cancelled
 * mid-way) left behind. Best effort; running suites' vhosts are far younger.
 */
export async function removeStaleVhosts(prefix: string, olderThanMs = STALE_AFTER_MS): Promise<string[]> {
  if (!(await hasManagement())) return [];
  const vhosts = (await (await management('GET', '/vhosts')).json()) as { name: string }[];
  const stale = vhosts.map((v) => v.name).filter((n) => (scratchNameAge(n, prefix, '-') ?? 0) > olderThanMs);
  if (stale.length === 0) return [];
  const users = (await (await management('GET', '/users')).json()) as { name: string }[];
  for (const vhost of stale) {
    for (const u of users.filter((u) => u.name.startsWith(`${vhost}-`))) {
      await management('DELETE', `/users/${encodeURIComponent(u.name)}`);
    }
    await management('DELETE', `/vhosts/${encodeURIComponent(vhost)}`);
  }
  return stale;
}

export async function createTestVhost(prefix = 'test'): Promise<TestVhost> {
  await removeStaleVhosts(prefix).catch(() => undefined);
  const vhost = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const user = decodeURIComponent(new URL(AMQP_URL).username || 'guest');
  if (await hasManagement()) {
    const r = await management('PUT', `/vhosts/${encodeURIComponent(vhost)}`, {});
    if (!r.ok) throw new Error(`cannot create vhost ${vhost}: ${r.status}`);
    const p = await management(
      'PUT',
      `/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`,
      {
        configure: '.*',
        write: '.*',
        read: '.*',
      },
    );
    if (!p.ok) throw new Error(`cannot grant permissions on ${vhost}: ${p.status}`);
  } else {
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, user, '.*', '.*', '.*']);
  }
  const u = new URL(AMQP_URL);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  const url = u.toString();
  const v = encodeURIComponent(vhost);

  const requireManagement = async () => {
    if (!(await hasManagement())) throw new Error('this helper needs the rabbitmq_management plugin');
  };

  const users: string[] = [];
  const api: TestVhost = {
    vhost,
    url,
    async queue(name) {
      await requireManagement();
      const r = await management('GET', `/queues/${v}/${encodeURIComponent(name)}`);
      if (r.status === 404) return undefined;
      const q = (await r.json()) as { name: string; messages?: number; consumers?: number };
      return { name: q.name, messages: q.messages ?? 0, consumers: q.consumers ?? 0 };
    },
    async queues() {
      await requireManagement();
      const r = await management('GET', `/queues/${v}`);
      const list = (await r.json()) as { name: string; messages?: number; consumers?: number }[];
      return list.map((q) => ({ name: q.name, messages: q.messages ?? 0, consumers: q.consumers ?? 0 }));
    },
    async take(queue, count = 100) {
      await requireManagement();
      const r = await management('POST', `/queues/${v}/${encodeURIComponent(queue)}/get`, {
        count,
        ackmode: 'ack_requeue_false',
        encoding: 'auto',
      });
      if (!r.ok) throw new Error(`cannot read ${queue}: ${r.status} ${await r.text()}`);
      return (await r.json()) as PeekedMessage[];
    },
    async connections() {
      await requireManagement();
      const r = await management('GET', `/vhosts/${v}/connections`);
      const list = (await r.json()) as { name: string; client_properties?: { connection_name?: string } }[];
      return list.map((c) => ({ name: c.name, clientName: c.client_properties?.connection_name }));
    },
    async closeConnections() {
      const list = await api.connections();
      for (const c of list) {
        await management('DELETE', `/connections/${encodeURIComponent(c.name)}`).catch(() => undefined);
      }
      return list.length;
    },
    async addUser(suffix, permissions = {}) {
      await requireManagement();
      const name = `${vhost}-${suffix}`;
      const password = randomBytes(12).toString('hex');
      const n = encodeURIComponent(name);
      const r = await management('PUT', `/users/${n}`, { password, tags: '' });
      if (!r.ok) throw new Error(`cannot create user ${name}: ${r.status}`);
      users.push(name);
      const p = await management('PUT', `/permissions/${v}/${n}`, {
        configure: '.*',
        write: '.*',
        read: '.*',
        ...permissions,
      });
      if (!p.ok) throw new Error(`cannot grant permissions to ${name}: ${p.status}`);
      const withUser = new URL(url);
      withUser.username = encodeURIComponent(name);
      withUser.password = password;
      return withUser.toString();
    },
    async delete() {
      if (await hasManagement()) {
        for (const u of users.splice(0)) await management('DELETE', `/users/${encodeURIComponent(u)}`);
        await management('DELETE', `/vhosts/${v}`);
      } else await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]);
    },
  };
  return api;
}

/** Polls `check` until it returns a truthy value; throws with `what` after the deadline. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  {
    timeoutMs = 20_000,
    intervalMs = 50,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export { rawConfirmedPublish } from './raw-publish.js';
export type { RawMessage, RawPublishResult } from './raw-publish.js';
export { runBenchScript } from './bench-script.js';
export type { BenchScriptRun } from './bench-script.js';
