import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AMQP_URL, MANAGEMENT_URL, removeStaleVhosts } from '@notify/messaging/testing';
import type { Definitions } from '../rabbitmq/definitions.js';
import { rabbitPasswordHash } from '../rabbitmq/password-hash.js';
import { repoPath } from '../repo-paths.js';

// Loads the committed definitions file into the broker on this machine under a scratch
// vhost, with its users renamed for this run and given test passwords, so suites can
// connect as each service's user. Everything is removed again by delete().

export interface ScratchBroker {
  readonly vhost: string;
  /** Broker user name of a definitions user (`email`, `order-api`, `keda`) in this run. */
  userName(user: string): string;
  /** AMQP URL that logs in as that user into the scratch vhost. */
  url(user: string): string;
  /** AMQP URL of the test's own broker user (AMQP_URL's), with every permission on the vhost: to look and clean up. */
  readonly adminUrl: string;
  readonly definitions: Definitions;
  delete(): Promise<void>;
}

function managementAuth(): string {
  const u = new URL(AMQP_URL);
  const user = decodeURIComponent(u.username || 'guest');
  const pass = decodeURIComponent(u.password || 'guest');
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** A call to the broker's management API as the test's own user (AMQP_URL's). */
export async function management(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: { authorization: managementAuth(), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
}

export async function loadScratchBroker(prefix = 'infra'): Promise<ScratchBroker> {
  // A run killed before its delete() (a cancelled CI run) leaves its vhost and users.
  await removeStaleVhosts(prefix).catch(() => undefined);
  const run = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const committed = JSON.parse(
    await readFile(repoPath('infra/rabbitmq/definitions.json'), 'utf8'),
  ) as Definitions;
  const passwords = new Map<string, string>();
  const userName = (user: string) => `${run}-${user}`;
  const rename = (user: string) => {
    if (!committed.users.some((u) => u.name === user)) throw new Error(`no user ${user} in the definitions`);
    return userName(user);
  };

  const definitions: Definitions = {
    ...committed,
    users: committed.users.map((u) => {
      const password = randomBytes(12).toString('hex');
      passwords.set(u.name, password);
      return { ...u, name: rename(u.name), password_hash: rabbitPasswordHash(password) };
    }),
    vhosts: committed.vhosts.map((v) => ({ ...v, name: run })),
    permissions: committed.permissions.map((p) => ({ ...p, user: rename(p.user), vhost: run })),
    topic_permissions: committed.topic_permissions.map((p) => ({ ...p, user: rename(p.user), vhost: run })),
    policies: committed.policies.map((p) => ({ ...p, vhost: run })),
    queues: committed.queues.map((q) => ({ ...q, vhost: run })),
    exchanges: committed.exchanges.map((e) => ({ ...e, vhost: run })),
    bindings: committed.bindings.map((b) => ({ ...b, vhost: run })),
  };

  const remove = async () => {
    for (const u of definitions.users) await management('DELETE', `/users/${encodeURIComponent(u.name)}`);
    await management('DELETE', `/vhosts/${encodeURIComponent(run)}`);
  };
  const r = await management('POST', '/definitions', definitions);
  if (!r.ok) {
    await remove();
    throw new Error(`the broker refused the definitions: ${r.status} ${await r.text()}`);
  }

  const base = new URL(AMQP_URL);
  const admin = decodeURIComponent(base.username || 'guest');
  const granted = await management(
    'PUT',
    `/permissions/${encodeURIComponent(run)}/${encodeURIComponent(admin)}`,
    {
      configure: '.*',
      write: '.*',
      read: '.*',
    },
  );
  if (!granted.ok) {
    await remove();
    throw new Error(`cannot grant ${admin} permissions on ${run}: ${granted.status}`);
  }
  const adminUrl = new URL(base);
  adminUrl.pathname = `/${encodeURIComponent(run)}`;
  return {
    vhost: run,
    adminUrl: adminUrl.toString(),
    definitions,
    userName,
    url(user) {
      const password = passwords.get(user);
      if (password === undefined) throw new Error(`no user ${user} in the definitions`);
      const u = new URL(base);
      u.username = encodeURIComponent(userName(user));
      u.password = password;
      u.pathname = `/${encodeURIComponent(run)}`;
      return u.toString();
    },
    delete: remove,
  };
}
