import { createHash } from 'node:crypto';
import { fullTopology } from '@notify/contracts';
import { EXCHANGES } from '@notify/contracts';
import type { QueueSpec } from '@notify/contracts';
import { brokerGrants, exactNames } from './broker-users.js';
import { HASHING_ALGORITHM, rabbitPasswordHash } from './password-hash.js';

// The broker's definitions file (the format of `rabbitmqctl export_definitions` and of
// the management API's /api/definitions), built from the contracts' topology and the
// grants in broker-users.ts.

export const VHOST = 'notify';

export interface DefinitionsUser {
  name: string;
  password_hash: string;
  hashing_algorithm: string;
  tags: string[];
  limits: Record<string, never>;
}

export interface Permission {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermission {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

export interface Policy {
  name: string;
  vhost: string;
  pattern: string;
  'apply-to': 'queues';
  priority: number;
  definition: Record<string, unknown>;
}

export interface Definitions {
  users: DefinitionsUser[];
  vhosts: { name: string; limits?: unknown[]; metadata?: { description: string; tags: string[] } }[];
  permissions: Permission[];
  topic_permissions: TopicPermission[];
  parameters: unknown[];
  global_parameters: unknown[];
  policies: Policy[];
  queues: {
    name: string;
    vhost: string;
    durable: boolean;
    auto_delete: boolean;
    arguments: Record<string, unknown>;
  }[];
  exchanges: {
    name: string;
    vhost: string;
    type: string;
    durable: boolean;
    auto_delete: boolean;
    internal: boolean;
    arguments: Record<string, unknown>;
  }[];
  bindings: {
    source: string;
    vhost: string;
    destination: string;
    destination_type: 'queue';
    routing_key: string;
    arguments: Record<string, unknown>;
  }[];
}

export interface DefinitionsOptions {
  readonly vhost?: string;
  /**
   * Password of each service's user. A user without one gets an empty hash: it exists with
   * its permissions but cannot log in until an operator sets a password.
   */
  readonly passwords?: Readonly<Record<string, string>>;
  /** A fixed salt per user, for files that are committed and must be reproducible. */
  readonly saltFor?: (user: string) => Buffer;
  /** Extra users with full rights on the vhost (the development administrator). */
  readonly administrators?: readonly { name: string; password: string }[];
  /** Maps a grant's user name to the name written in the file (tests use unique names per run). */
  readonly userName?: (user: string) => string;
}

export function buildDefinitions(options: DefinitionsOptions = {}): Definitions {
  const vhost = options.vhost ?? VHOST;
  const userName = options.userName ?? ((s: string) => s);
  const topology = fullTopology();
  const grants = brokerGrants();

  const hash = (user: string, password: string | undefined) =>
    password === undefined ? '' : rabbitPasswordHash(password, options.saltFor?.(user));

  const users: DefinitionsUser[] = [
    ...grants.map((g) => ({
      name: userName(g.user),
      password_hash: hash(g.user, options.passwords?.[g.user]),
      hashing_algorithm: HASHING_ALGORITHM,
      tags: [],
      limits: {},
    })),
    ...(options.administrators ?? []).map((a) => ({
      name: a.name,
      password_hash: hash(a.name, a.password),
      hashing_algorithm: HASHING_ALGORITHM,
      tags: ['administrator'],
      limits: {},
    })),
  ];

  const permissions: Permission[] = [
    ...grants.map((g) => ({
      user: userName(g.user),
      vhost,
      configure: exactNames(g.configure),
      write: exactNames(g.write),
      read: exactNames(g.read),
    })),
    ...(options.administrators ?? []).map((a) => ({
      user: a.name,
      vhost,
      configure: '.*',
      write: '.*',
      read: '.*',
    })),
  ];

  const topicPermissions: TopicPermission[] = grants.flatMap((g) =>
    g.eventRoutingKeys
      ? [
          {
            user: userName(g.user),
            vhost,
            exchange: EXCHANGES.events.name,
            write: exactNames(g.eventRoutingKeys.write),
            read: exactNames(g.eventRoutingKeys.read),
          },
        ]
      : [],
  );

  return {
    users,
    vhosts: [
      {
        name: vhost,
        metadata: { description: 'Order notification fan-out', tags: [] },
      },
    ],
    permissions,
    topic_permissions: topicPermissions,
    parameters: [],
    global_parameters: [],
    policies: queuePolicies(topology.queues, vhost),
    queues: topology.queues.map((q) => ({
      name: q.name,
      vhost,
      durable: true,
      auto_delete: false,
      arguments: { ...q.arguments },
    })),
    exchanges: topology.exchanges.map((e) => ({
      name: e.name,
      vhost,
      type: e.type,
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: { ...e.arguments },
    })),
    bindings: topology.bindings.map((b) => ({
      source: b.exchange,
      vhost,
      destination: b.queue,
      destination_type: 'queue',
      routing_key: b.routingKey,
      arguments: {},
    })),
  };
}

/** Queue arguments that have a policy key of the same meaning (x-queue-type has none). */
const POLICY_KEYS: Readonly<Record<string, string>> = {
  'x-delivery-limit': 'delivery-limit',
  'x-dead-letter-exchange': 'dead-letter-exchange',
  'x-dead-letter-routing-key': 'dead-letter-routing-key',
  'x-dead-letter-strategy': 'dead-letter-strategy',
  'x-overflow': 'overflow',
};

/** The policy definition that says what the queue's arguments say. */
export function policyDefinitionOf(
  queueArguments: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [arg, key] of Object.entries(POLICY_KEYS))
    if (queueArguments[arg] !== undefined) out[key] = queueArguments[arg];
  return out;
}

/**
 * Policies that state each queue's delivery limit and dead-lettering once more, in the
 * form an operator sees and changes at run time: the queues' own arguments say the same
 * (an argument wins over a policy), so a policy set by hand over ours (a higher priority)
 * cannot take a queue's dead-lettering away, and a queue an operator re-creates without
 * arguments still gets them. One policy per distinct definition, matching its queues by
 * exact name.
 */
function queuePolicies(queues: readonly QueueSpec[], vhost: string): Policy[] {
  const groups = new Map<string, { definition: Record<string, unknown>; queues: string[] }>();
  for (const q of queues) {
    const definition = policyDefinitionOf(q.arguments);
    if (Object.keys(definition).length === 0) continue;
    const key = JSON.stringify(definition);
    const group = groups.get(key) ?? { definition, queues: [] };
    group.queues.push(q.name);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => {
    const target = g.definition['dead-letter-exchange'];
    return {
      name: typeof target === 'string' ? `dead-letter-to-${target}` : 'keep-until-taken',
      vhost,
      pattern: exactNames(g.queues),
      'apply-to': 'queues',
      priority: 0,
      definition: g.definition,
    };
  });
}

/** Development passwords, for the compose stack only; the names say what they are. */
export function developmentPassword(user: string): string {
  return `dev-only-${user}-password`;
}

/** Reproducible salts for the committed development file (never for real passwords). */
export function developmentSalt(user: string): Buffer {
  return createHash('sha256').update(`notify-dev-salt:${user}`).digest().subarray(0, 4);
}

export const DEVELOPMENT_ADMIN = 'admin';

/** Where operators (and compose's .env) keep each broker user's password. */
export function amqpPasswordVariable(user: string): string {
  return `${user.toUpperCase().replace(/-/g, '_')}_AMQP_PASSWORD`;
}
