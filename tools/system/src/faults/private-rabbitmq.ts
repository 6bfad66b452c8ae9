import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chown, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptsConnections } from '../tcp-ports.js';
import { systemCtl } from './broker-binaries.js';
import type { BrokerBinaries } from './broker-binaries.js';
import { mustRun, runAs, runCommand, systemUser } from './run-command.js';

// A RabbitMQ node of the suite's own: its own node name, ports, data and log folders, run
// from the binaries the run chose (broker-binaries.ts: the machine's 3.10 as the
// `rabbitmq` account, or tools/rabbitmq4's 4.x). The shared nodes (rabbit@localhost on
// 5672, tools/rabbitmq4's notify4 on 5682) are never addressed: every rabbitmqctl call
// names the private node with -n, and a guard refuses any cluster operation that involves
// a node without the run's prefix.

export interface QueueDepth {
  readonly name: string;
  readonly messages: number;
  readonly ready: number;
  readonly unacked: number;
  readonly leader?: string;
}

export interface RabbitNodeOptions {
  /** Short node name; the node is `<name>@localhost`. Must start with `prefix`. */
  readonly name: string;
  /** Every node of this run starts with it; cluster operations refuse other nodes. */
  readonly prefix: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** Folder for this node's data, logs and config (created, owned by the nodes' account). */
  readonly dir: string;
  readonly binaries: BrokerBinaries;
}

export class PrivateRabbitNode {
  private child: ChildProcess | null = null;
  private exit: Promise<void> = Promise.resolve();

  private constructor(readonly options: RabbitNodeOptions) {}

  static async create(options: RabbitNodeOptions): Promise<PrivateRabbitNode> {
    if (!options.name.startsWith(options.prefix))
      throw new Error(`node ${options.name} lacks the run prefix`);
    const { dir, binaries } = options;
    await mkdir(join(dir, 'mnesia'), { recursive: true });
    await mkdir(join(dir, 'log'), { recursive: true });
    // 4.x also reads every file of a conf.d folder (default /etc/rabbitmq/conf.d, the
    // machine broker's): point it at an empty one.
    if (binaries.isolateConfigDir) await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'enabled_plugins'), '[].\n');
    // Replaces the machine's rabbitmq-env.conf, which names the shared node.
    await writeFile(join(dir, 'rabbitmq-env.conf'), '# private node of the fault suite\n');
    await writeFile(
      join(dir, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = 127.0.0.1:${options.amqpPort}`,
        'loopback_users.guest = true',
        'log.console = false',
        'log.file.level = info',
        // A node that lost its peers stops serving instead of diverging; with three nodes
        // and one killed, the other two keep the majority.
        'cluster_partition_handling = pause_minority',
        '',
      ].join('\n'),
    );
    const user = binaries.user;
    if (user) {
      for (const p of ['', 'mnesia', 'log', 'enabled_plugins', 'rabbitmq-env.conf', 'rabbitmq.conf']) {
        await chown(join(dir, p), user.uid, user.gid);
      }
    }
    return new PrivateRabbitNode(options);
  }

  get nodeName(): string {
    return `${this.options.name}@localhost`;
  }

  get amqpPort(): number {
    return this.options.amqpPort;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  amqpUrl(vhost = '/'): string {
    return `amqp://guest:guest@127.0.0.1:${this.options.amqpPort}/${encodeURIComponent(vhost)}`;
  }

  get version(): BrokerBinaries['version'] {
    return this.options.binaries.version;
  }

  private env(): Record<string, string> {
    const { dir, binaries } = this.options;
    return {
      ...binaries.env,
      ...(binaries.isolateConfigDir
        ? {
            RABBITMQ_CONFIG_FILES: join(dir, 'conf.d'),
            RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
            ERL_CRASH_DUMP: join(dir, 'log', 'erl_crash.dump'),
          }
        : {}),
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_NODE_PORT: String(this.options.amqpPort),
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_DIST_PORT: String(this.options.distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    };
  }

  /** Starts the Erlang node in the foreground of a child process and waits until it serves AMQP. */
  async start(timeoutMs = 180_000): Promise<void> {
    if (this.running) return;
    const out = await open(join(this.options.dir, 'log', 'console.log'), 'a');
    const { binaries } = this.options;
    const child = spawn(binaries.server, [], {
      ...(binaries.user ? runAs(binaries.user) : {}),
      cwd: binaries.home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.env() },
      stdio: ['ignore', out.fd, out.fd],
      // Its own process group, so a kill takes the node and its helper processes.
      detached: true,
    });
    this.child = child;
    this.exit = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exit.then(() => out.close().catch(() => undefined));
    await this.waitUntilServing(timeoutMs);
  }

  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await acceptsConnections('127.0.0.1', this.options.amqpPort))) {
      if (!this.running)
        throw new Error(`${this.nodeName} exited while starting; see ${this.options.dir}/log`);
      if (Date.now() > deadline) throw new Error(`${this.nodeName} did not open its AMQP port in time`);
      await sleep(250);
    }
    // The port can open a moment before the node answers CLI tools; ask until it does.
    for (;;) {
      try {
        await this.ctl(['await_startup', '--timeout', '60']);
        return;
      } catch (err) {
        if (!this.running || Date.now() > deadline) throw err;
        await sleep(1_000);
      }
    }
  }

  /** Graceful stop of the whole node; SIGKILL if it does not go in time. */
  async stop(timeoutMs = 60_000): Promise<void> {
    if (!this.running) return;
    await this.ctl(['stop'], timeoutMs).catch(() => undefined);
    const stopped = await Promise.race([this.exit.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!stopped) await this.kill();
  }

  /** A crash: SIGKILL to the node's process group, no goodbye to its peers or clients. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid || !this.running) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
    await this.exit;
  }

  /** rabbitmqctl against this node only. */
  async ctl(args: readonly string[], timeoutMs = 120_000): Promise<string> {
    const { binaries, dir } = this.options;
    const r = await mustRun(binaries.ctl, ['-n', this.nodeName, '-q', ...args], {
      ...(binaries.user ? { user: binaries.user } : { cwd: binaries.home }),
      env: { ...binaries.env, RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf') },
      timeoutMs,
    });
    return r.stdout;
  }

  stopApp(): Promise<string> {
    return this.ctl(['stop_app']);
  }

  async startApp(): Promise<void> {
    await this.ctl(['start_app']);
    await this.ctl(['await_startup']);
  }

  /**
   * Closes every client connection of the node; resolves with how many. Through `eval`
   * rather than `close_all_connections`, whose 4.0 CLI printed "Closed N connections" and
   * then did not exit (seen under load); the node's own function is the same on both.
   */
  async closeAllConnections(reason: string): Promise<number> {
    const explanation = reason.replace(/[^\w :.,-]/g, '');
    const out = await this.ctl([
      'eval',
      `length([rabbit_networking:close_connection(P, "${explanation}") || P <- rabbit_networking:connections()]).`,
    ]);
    return Number(out.trim());
  }

  /** A watermark of 0 raises the memory alarm at once: every publishing connection is blocked. */
  raiseMemoryAlarm(): Promise<string> {
    return this.ctl(['set_vm_memory_high_watermark', '0']);
  }

  clearMemoryAlarm(): Promise<string> {
    return this.ctl(['set_vm_memory_high_watermark', '0.4']);
  }

  /** A free-space limit no disk meets raises the disk alarm. */
  raiseDiskAlarm(): Promise<string> {
    return this.ctl(['set_disk_free_limit', '100000GB']);
  }

  clearDiskAlarm(): Promise<string> {
    return this.ctl(['set_disk_free_limit', '50MB']);
  }

  /** Resource alarms in effect on this node: `memory`, `disk` (empty when none). */
  async alarms(): Promise<string[]> {
    // The diagnostics command's JSON differs between versions; the alarm handler's own
    // list is stable: [{{resource_limit,memory,Node},[]}, ...].
    const out = await this.ctl(['eval', 'rabbit_alarm:get_alarms().']);
    return [...out.matchAll(/\{resource_limit,(\w+),/g)].map((m) => m[1] ?? '');
  }

  /** The RabbitMQ version the node runs, e.g. `4.0.5`. */
  async serverVersion(): Promise<string> {
    return (await this.ctl(['eval', 'rabbit_misc:version().'])).trim().replace(/^"|"$/g, '');
  }

  async addVhost(vhost: string): Promise<void> {
    await this.ctl(['add_vhost', vhost]);
    await this.ctl(['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  }

  async deleteVhost(vhost: string): Promise<void> {
    await this.ctl(['delete_vhost', vhost]);
  }

  async queues(vhost: string, withLeader = false): Promise<QueueDepth[]> {
    const cols = ['name', 'messages', 'messages_ready', 'messages_unacknowledged'];
    if (withLeader) cols.push('leader');
    const out = await this.ctl(['list_queues', '-p', vhost, ...cols, '--formatter', 'json']);
    const rows = JSON.parse(out.trim() || '[]') as Record<string, unknown>[];
    return rows.map((r) => ({
      name: String(r.name),
      messages: Number(r.messages ?? 0),
      ready: Number(r.messages_ready ?? 0),
      unacked: Number(r.messages_unacknowledged ?? 0),
      ...(typeof r.leader === 'string' ? { leader: r.leader } : {}),
    }));
  }

  /** Node names this node sees in its cluster (itself included). */
  async clusterNodes(): Promise<string[]> {
    const out = await this.ctl(['cluster_status', '--formatter', 'json']);
    const s = JSON.parse(out) as { disk_nodes?: string[]; ram_nodes?: string[] };
    return [...(s.disk_nodes ?? []), ...(s.ram_nodes ?? [])];
  }

  /** Makes this (fresh) node a member of `seed`'s cluster. Both must be nodes of this run. */
  async joinCluster(seed: PrivateRabbitNode): Promise<void> {
    if (!seed.options.name.startsWith(this.options.prefix) || seed.options.prefix !== this.options.prefix) {
      throw new Error(`refusing to cluster ${this.nodeName} with ${seed.nodeName}: not a node of this run`);
    }
    await this.ctl(['stop_app']);
    await this.ctl(['reset']);
    await this.ctl(['join_cluster', seed.nodeName]);
    await this.ctl(['start_app']);
    await this.ctl(['await_startup']);
  }
}

/**
 * The shared node must never see a private node as a peer. Reads its cluster status
 * (read-only); resolves with the offending peers, empty when all is well or when the
 * shared node is not running here at all.
 */
export async function sharedNodePeersOfRun(prefix: string): Promise<string[]> {
  const user = systemUser('rabbitmq');
  if (!user) return [];
  const r = await runCommand(
    systemCtl(),
    ['-n', 'rabbit@localhost', '-q', 'cluster_status', '--formatter', 'json'],
    { user, timeoutMs: 60_000 },
  );
  if (r.code !== 0) return [];
  try {
    const s = JSON.parse(r.stdout) as { disk_nodes?: string[]; ram_nodes?: string[] };
    return [...(s.disk_nodes ?? []), ...(s.ram_nodes ?? [])].filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}
