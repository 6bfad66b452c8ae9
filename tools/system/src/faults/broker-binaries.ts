import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptsConnections } from '../tcp-ports.js';
import { mustRun, systemUser } from './run-command.js';
import type { SystemUser } from './run-command.js';

// Which RabbitMQ the suite's private nodes run: the machine's packaged 3.10 (its server
// scripts, the `rabbitmq` account, the machine's Erlang cookie and epmd), or the 4.x that
// tools/rabbitmq4 unpacked (its scripts and Erlang, run as this process's account with a
// cookie and an epmd of the run's own, so nothing is shared with any other node).

export const BROKER_VERSIONS = ['3.10', '4'] as const;
export type BrokerVersion = (typeof BROKER_VERSIONS)[number];

export interface BrokerBinaries {
  readonly version: BrokerVersion;
  readonly server: string;
  readonly ctl: string;
  /** The account the nodes and rabbitmqctl run as; undefined: this process's own. */
  readonly user: SystemUser | undefined;
  /** Where the nodes and rabbitmqctl start (their HOME holds the Erlang cookie). */
  readonly home: string;
  /** Environment of every node and rabbitmqctl call, over the node's own settings. */
  readonly env: Readonly<Record<string, string>>;
  /** Extra settings for a node's config folder (4.x would read /etc/rabbitmq/conf.d otherwise). */
  readonly isolateConfigDir: boolean;
  /** Stops what `prepareBroker` started for the nodes (4.x: the run's epmd). */
  stop(): Promise<void>;
}

const SCRIPTS_DIR = process.env.FAULTS_RABBITMQ_SCRIPTS ?? '/usr/lib/rabbitmq/bin';
/** tools/rabbitmq4/rabbitmq4, from src/faults or dist/faults of tools/system. */
const RABBITMQ4 =
  process.env.FAULTS_RABBITMQ4 ?? fileURLToPath(new URL('../../../rabbitmq4/rabbitmq4', import.meta.url));

export function rabbitmqAccount(): SystemUser {
  const user = systemUser('rabbitmq');
  if (!user) throw new Error('there is no "rabbitmq" account: is RabbitMQ installed on this machine?');
  if (!existsSync(join(SCRIPTS_DIR, 'rabbitmq-server'))) {
    throw new Error(
      `no RabbitMQ server scripts in ${SCRIPTS_DIR}; set FAULTS_RABBITMQ_SCRIPTS to the folder holding rabbitmq-server and rabbitmqctl`,
    );
  }
  return user;
}

/** The machine's RabbitMQ server scripts (the shared node's, never addressed). */
export function systemCtl(): string {
  return join(SCRIPTS_DIR, 'rabbitmqctl');
}

/** Parses `rabbitmq4 paths`: one `name=path` a line. */
export function parsePaths(out: string): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) paths[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return paths;
}

export interface PrepareOptions {
  /** The run's folder: 4.x keeps its cookie and epmd log there. */
  readonly dir: string;
  /** A free port for the run's own epmd (4.x). */
  readonly epmdPort: number;
  readonly log: (line: string) => void;
}

export async function prepareBroker(
  version: BrokerVersion,
  options: PrepareOptions,
): Promise<BrokerBinaries> {
  if (version === '3.10') {
    const user = rabbitmqAccount();
    return {
      version,
      server: join(SCRIPTS_DIR, 'rabbitmq-server'),
      ctl: join(SCRIPTS_DIR, 'rabbitmqctl'),
      user,
      home: user.home,
      env: { HOME: user.home },
      isolateConfigDir: false,
      stop: () => Promise.resolve(),
    };
  }
  if (!existsSync(RABBITMQ4))
    throw new Error(`no ${RABBITMQ4}; set FAULTS_RABBITMQ4 to tools/rabbitmq4/rabbitmq4`);
  // Instant once set up; on a new machine it fetches and unpacks the packages (about 45 s).
  await mustRun(RABBITMQ4, ['setup'], { timeoutMs: 900_000 });
  const paths = parsePaths((await mustRun(RABBITMQ4, ['paths'])).stdout);
  for (const key of [
    'rabbitmq-server',
    'rabbitmqctl',
    'erlang-bin',
    'epmd',
    'OPENSSL_MODULES',
    'GCONV_PATH',
  ]) {
    if (!paths[key]) throw new Error(`${RABBITMQ4} paths did not say where ${key} is`);
  }
  options.log(`RabbitMQ ${paths.version} from ${paths['rabbitmq-server']}`);
  const home = join(options.dir, 'erlang-home');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const cookie = join(home, '.erlang.cookie');
  await writeFile(cookie, randomBytes(20).toString('hex'), { mode: 0o400 });
  await chmod(cookie, 0o400);
  const env = {
    HOME: home,
    PATH: `${paths['erlang-bin']}:/usr/sbin:/usr/bin:/sbin:/bin`,
    LANG: 'C.UTF-8',
    OPENSSL_MODULES: paths.OPENSSL_MODULES!,
    GCONV_PATH: paths.GCONV_PATH!,
    ERL_EPMD_PORT: String(options.epmdPort),
    // Names the run's folder, so a later run can find this epmd should this one be killed.
    NOTIFY_FAULTS_RUN: options.dir,
  };
  const epmd = await startEpmd(paths.epmd!, options.epmdPort, options.dir, env);
  return {
    version,
    server: paths['rabbitmq-server']!,
    ctl: paths.rabbitmqctl!,
    user: undefined,
    home,
    env,
    isolateConfigDir: true,
    stop: async () => {
      if (epmd.exitCode !== null || epmd.signalCode !== null) return;
      const gone = new Promise((resolve) => epmd.once('exit', resolve));
      epmd.kill('SIGTERM');
      await Promise.race([gone, sleep(5_000).then(() => epmd.kill('SIGKILL'))]);
    },
  };
}

/** The run's own epmd in the foreground of a child process, so its pid is known and it ends with the run. */
async function startEpmd(
  bin: string,
  port: number,
  dir: string,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const out = await open(join(dir, 'epmd.log'), 'a');
  const child = spawn(bin, ['-port', String(port), '-address', '127.0.0.1'], {
    env,
    stdio: ['ignore', out.fd, out.fd],
  });
  child.once('exit', () => void out.close().catch(() => undefined));
  await writeFile(join(dir, 'epmd.pid'), String(child.pid ?? ''));
  const deadline = Date.now() + 20_000;
  while (!(await acceptsConnections('127.0.0.1', port))) {
    if (child.exitCode !== null) throw new Error(`epmd exited at once; see ${join(dir, 'epmd.log')}`);
    if (Date.now() > deadline) throw new Error(`epmd did not listen on ${port}`);
    await sleep(100);
  }
  return child;
}
