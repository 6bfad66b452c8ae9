import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acceptsConnections } from '../tcp-ports.js';
import { hasCommand, mustRun } from './run-command.js';

// HAProxy in front of the private cluster: amqplib's recovery reconnects to one URL, so
// the services reach a surviving node only through a load balancer, as they do in
// Kubernetes through the operator's Service (docs/deployment.md).

export interface HaproxyOptions {
  readonly dir: string;
  readonly port: number;
  readonly backends: readonly { readonly name: string; readonly port: number }[];
}

export function haproxyConfig(o: HaproxyOptions): string {
  return [
    'global',
    '  maxconn 2000',
    '',
    'defaults',
    '  mode tcp',
    '  option redispatch',
    '  retries 3',
    '  timeout connect 2s',
    // AMQP connections are long-lived; heartbeats (10 s) keep them busy.
    '  timeout client 1h',
    '  timeout server 1h',
    '',
    'frontend amqp',
    `  bind 127.0.0.1:${o.port}`,
    '  default_backend rabbitmq',
    '',
    'backend rabbitmq',
    '  balance roundrobin',
    '  option tcp-check',
    // A node marked down has its client sessions cut, so clients reconnect to a live node
    // at once instead of waiting for a heartbeat timeout.
    '  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions',
    ...o.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    '',
  ].join('\n');
}

export class Haproxy {
  private child: ChildProcess | null = null;
  private exit: Promise<void> = Promise.resolve();

  private constructor(readonly options: HaproxyOptions) {}

  static async start(options: HaproxyOptions): Promise<Haproxy> {
    if (!(await hasCommand('haproxy'))) {
      throw new Error(
        "scenario 8 needs HAProxy in front of the cluster: install Debian's package (apt-get install -y haproxy)",
      );
    }
    const cfg = join(options.dir, 'haproxy.cfg');
    await writeFile(cfg, haproxyConfig(options));
    await mustRun('haproxy', ['-c', '-q', '-f', cfg]);
    const h = new Haproxy(options);
    const out = await open(join(options.dir, 'haproxy.log'), 'a');
    // -db: stay in the foreground, so the suite owns the process and its end.
    const child = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', out.fd, out.fd] });
    h.child = child;
    // For the next run, should this one be killed before it can stop HAProxy.
    await writeFile(join(options.dir, 'haproxy.pid'), String(child.pid ?? ''));
    h.exit = new Promise((resolve) => child.once('exit', () => resolve()));
    void h.exit.then(() => out.close().catch(() => undefined));
    const deadline = Date.now() + 20_000;
    while (!(await acceptsConnections('127.0.0.1', options.port))) {
      if (child.exitCode !== null) throw new Error(`haproxy exited; see ${options.dir}/haproxy.log`);
      if (Date.now() > deadline) throw new Error('haproxy did not listen in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    return h;
  }

  url(vhost = '/'): string {
    return `amqp://guest:guest@127.0.0.1:${this.options.port}/${encodeURIComponent(vhost)}`;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([
      this.exit.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 5_000)),
    ]);
    if (!done) child.kill('SIGKILL');
    await this.exit;
  }
}
