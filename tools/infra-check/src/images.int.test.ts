import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@notify/messaging/testing';
import { isPlaceholderSecret } from '@notify/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNode24 } from './images/node24.js';
import { runDockerfile } from './images/dockerfile-runner.js';
import type { DockerImage } from './images/dockerfile-runner.js';
import { REPO_ROOT, repoPath } from './repo-paths.js';
import { SERVICES } from './service-catalogue.js';
import type { DeployedService } from './service-catalogue.js';
import { renderOverlays } from './testing/render-overlay.js';
import type { RenderedOverlays } from './testing/render-overlay.js';
import { loadScratchBroker } from './testing/scratch-broker.js';
import type { ScratchBroker } from './testing/scratch-broker.js';
import { createScratchPostgres } from './testing/scratch-postgres.js';
import type { ScratchPostgres } from './testing/scratch-postgres.js';

// The image check: for each service, run infra/docker/Dockerfile's own steps (prune,
// install from the pruned lockfile, build, stage the run-time files) into a fresh folder
// on Node 24, then start the service from that folder alone, with the environment the
// production overlay gives it, as the image's unprivileged user, against the real
// RabbitMQ (its own least-privileged broker user) and PostgreSQL (its own role from the
// init script); see it become ready, pass the image's HEALTHCHECK, and exit 0 on SIGTERM.
// The builds use the monorepo's own turbo cache, as a Docker build uses the remote cache
// CI shares: the build stage has turbo's global dependencies, so its task hashes are the
// monorepo's and what `npm test` has just built is restored, not compiled again (a hash
// covers every input of the task). INFRA_CHECK_IMAGES_TURBO_CACHE=isolated gives the run a
// cache of its own, so each workspace is compiled in the pruned tree once.
//
// Speed (the whole check runs in `npm test`): the six builds run in the background from
// beforeAll, INFRA_CHECK_IMAGES_CONCURRENCY (2) at a time, while the tests take the
// services in turn; the first build's `turbo run build` goes alone, so the workspaces
// every service shares are compiled once and the other builds take them from the cache.
// `npm ci --prefer-offline` (the Dockerfile's) installs from the machine's npm cache, the
// stand-in for the Dockerfile's cache mount, and Node 24 is installed once per machine.

const verbose = process.env.INFRA_CHECK_VERBOSE === '1';
const log = (line: string) => {
  if (verbose) console.log(line);
};

/** INFRA_CHECK_IMAGES_ONLY=fraud,email checks only those services (when looking into one). */
const only = process.env.INFRA_CHECK_IMAGES_ONLY?.split(',').map((n) => n.trim());
const CHECKED = only ? SERVICES.filter((s) => only.includes(s.name)) : SERVICES;
const CONCURRENCY = Math.max(1, Number(process.env.INFRA_CHECK_IMAGES_CONCURRENCY ?? 2) || 2);

let node24: string;
let broker: ScratchBroker;
let db: ScratchPostgres;
let overlays: RenderedOverlays;
let work: string;
let turboCache: string;
const checkStarted = Date.now();
const timings: string[] = [];
const running = new Set<ChildProcess>();
const builds = new Map<string, Promise<DockerImage>>();
let aborted = false;

/** Runs at most `limit` of the tasks at once, in the order they were given. */
function limiter(limit: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active += 1;
    try {
      return await task();
    } finally {
      active -= 1;
      queue.shift()?.();
    }
  };
}

/** The first `turbo run build` runs alone; the others start when it is done and find its output cached. */
function firstBuildAlone() {
  let first: Promise<void> | undefined;
  return async (step: string, run: () => Promise<void>) => {
    if (!/\bturbo\b.*\brun build\b/.test(step)) return run();
    if (!first) {
      first = run();
      return first;
    }
    await first.catch(() => undefined);
    return run();
  };
}

function build(s: DeployedService, aroundRun: ReturnType<typeof firstBuildAlone>): Promise<DockerImage> {
  const started = Date.now();
  let cached = '';
  return runDockerfile({
    dockerfile: repoPath('infra/docker/Dockerfile'),
    context: REPO_ROOT,
    workDir: path.join(work, s.name),
    buildArgs: {
      PACKAGE: s.package,
      APP_DIR: s.dir,
      PORT: String(s.port),
      ...(s.opsPort !== s.port ? { OPS_PORT: String(s.opsPort) } : {}),
    },
    env: {
      PATH: `${path.dirname(node24)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? '/root',
      TURBO_CACHE_DIR: turboCache,
      TURBO_TELEMETRY_DISABLED: '1',
    },
    log: (line) => {
      // turbo's summary, e.g. `Cached:    3 cached, 4 total`.
      if (/^\s*Cached:/.test(line)) cached = line.trim().replace(/\s+/g, ' ');
      log(line);
    },
    aroundRun: async (step, run) => {
      if (aborted) throw new Error('the image check is over');
      return aroundRun(step, run);
    },
  }).then((image) => {
    timings.push(
      `${s.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s (${image.steps
        .filter((st) => / RUN /.test(st.step) || st.ms >= 1_000)
        .map(
          (st) =>
            `${st.step.split(':')[1]?.trim().split(' ').slice(0, 3).join(' ')} ${(st.ms / 1000).toFixed(1)}`,
        )
        .join(', ')}; turbo ${cached || 'summary not seen'})`,
    );
    return image;
  });
}

beforeAll(async () => {
  node24 = await ensureNode24(log);
  work = await mkdtemp(path.join(tmpdir(), 'notify-images-'));
  // The service runs as the image's user and must reach its folder, as in the image.
  await chmod(work, 0o755);
  turboCache =
    process.env.INFRA_CHECK_IMAGES_TURBO_CACHE === 'isolated'
      ? path.join(work, 'turbo-cache')
      : path.resolve(REPO_ROOT, process.env.TURBO_CACHE_DIR ?? '.turbo/cache');
  broker = await loadScratchBroker('image');
  db = await createScratchPostgres('image');
  overlays = await renderOverlays(['production']);
  timings.push(
    `setup (Node 24, scratch vhost and database, overlay): ${((Date.now() - checkStarted) / 1000).toFixed(1)} s`,
  );
  const slot = limiter(CONCURRENCY);
  const aroundRun = firstBuildAlone();
  for (const s of CHECKED) {
    const image = slot(() => build(s, aroundRun));
    // Awaited by the service's own test; this keeps a failure from being reported twice.
    image.catch(() => undefined);
    builds.set(s.name, image);
  }
}, 600_000);

afterAll(async () => {
  aborted = true;
  // Builds still going (a test failed or was filtered out) finish their current step first.
  await Promise.allSettled(builds.values());
  for (const child of running) child.kill('SIGKILL');
  await broker?.delete();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
  timings.push(`total: ${((Date.now() - checkStarted) / 1000).toFixed(1)} s`);
  console.log(`image check timings:\n  ${timings.join('\n  ')}`);
}, 600_000);

/** `uid:gid` of the image's USER, used when this process may switch user (it runs as root). */
function imageUser(image: DockerImage): { uid: number; gid: number } | undefined {
  const m = /^(\d+):(\d+)$/.exec(image.user ?? '');
  if (!m || process.getuid?.() !== 0) return undefined;
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/**
 * The production overlay's environment as an operator fills it in: every value that is
 * still the examples' placeholder (which the services refuse in production) gets a secret
 * of the same shape: `CHANGE-ME` markers replaced, Twilio's example SIDs by random ones.
 */
function filledIn(env: Record<string, string>): Record<string, string> {
  const secret = () => randomBytes(12).toString('hex');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    let v = value;
    if (isPlaceholderSecret(v)) {
      v = /^(AC|HX)[0-9a-f]{32}$/i.test(v)
        ? `${v.slice(0, 2)}${randomBytes(16).toString('hex')}`
        : v
            .replace(/change-?me/gi, secret)
            .replace(/dev-only-/gi, 'filled-in-')
            .replace(/not-secret/gi, secret);
    }
    expect(isPlaceholderSecret(v), `${name} filled in`).toBe(false);
    out[name] = v;
  }
  return out;
}

function start(image: DockerImage, env: Record<string, string>, argv = [...image.cmd]): Started {
  const [command, ...args] = argv;
  const user = imageUser(image);
  const child = spawn(command as string, args, {
    cwd: image.workdir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ?? {}),
  });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (verbose) process.stdout.write(chunk);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => output, exited };
}

/** A port the service logged when it started: `port`, or `opsPort` (PORT=0 / OPS_PORT=0 pick one). */
function listeningPort(output: string, field: 'port' | 'opsPort' = 'port'): number | undefined {
  for (const line of output.split('\n')) {
    try {
      const value = (JSON.parse(line) as Record<string, unknown>)[field];
      if (typeof value === 'number' && value > 0) return value;
    } catch {
      // Not a log line of the service's logger.
    }
  }
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function filesUnder(dir: string, skip: (rel: string) => boolean, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.join(rel, entry.name);
    if (skip(p)) continue;
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, skip, p)));
    else out.push(p);
  }
  return out;
}

/** Workspace folders a package needs at run time: its own and, recursively, its production @notify dependencies. */
async function productionWorkspaces(dir: string): Promise<string[]> {
  const folders = new Map<string, string>();
  for (const group of ['packages', 'services', 'tools']) {
    for (const d of await readdir(repoPath(group))) {
      const pkg = await readFile(repoPath(group, d, 'package.json'), 'utf8').catch(() => undefined);
      if (pkg) folders.set((JSON.parse(pkg) as { name: string }).name, `${group}/${d}`);
    }
  }
  const seen = new Set<string>();
  const visit = async (folder: string) => {
    if (seen.has(folder)) return;
    seen.add(folder);
    const pkg = JSON.parse(await readFile(repoPath(folder, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      const f = folders.get(dep);
      if (f) await visit(f);
    }
  };
  await visit(dir);
  return [...seen].sort();
}

const DEV_ONLY_PACKAGES = ['typescript', 'vitest', 'turbo', 'eslint', 'tsx', 'prettier'];

describe.each(CHECKED)('the $name image', (s: DeployedService) => {
  let image: DockerImage;
  let env: Record<string, string>;

  it("builds with the Dockerfile's own steps on Node 24", async () => {
    image = await (builds.get(s.name) as Promise<DockerImage>);
    expect(image.skipped).toEqual([expect.stringContaining('tini')]);
    expect(image.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(image.user).toBe('1000:1000');
    expect(image.env.NODE_ENV).toBe('production');
    expect(image.labels['org.opencontainers.image.title']).toBe(s.package);
    expect(image.workdir).toBe(path.join(image.root, 'app', s.dir));
  }, 900_000);

  it('holds the service, the workspaces and packages it runs with, and nothing else', async () => {
    // Outside the repository, and with no node_modules anywhere above it that Node's
    // module resolution could fall back on: what the service finds is what the image has.
    expect(path.relative(REPO_ROOT, image.root).startsWith(`..${path.sep}`)).toBe(true);
    for (let dir = path.dirname(image.root); ; dir = path.dirname(dir)) {
      expect(await exists(path.join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false);
      if (dir === path.dirname(dir)) break;
    }
    const app = path.join(image.root, 'app');
    const expected = await productionWorkspaces(s.dir);
    const present: string[] = [];
    for (const group of ['packages', 'services', 'tools']) {
      for (const d of await readdir(path.join(app, group)).catch(() => [])) present.push(`${group}/${d}`);
    }
    expect(present.sort()).toEqual(expected);

    const sources = await filesUnder(app, (rel) => rel.split(path.sep).includes('node_modules'));
    const typescript = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(typescript, 'TypeScript sources in the image: add a `files` field to the package.json').toEqual(
      [],
    );
    expect(sources).toContain(path.join(s.dir, 'dist', 'main.js'));

    for (const folder of expected) {
      const pkg = JSON.parse(await readFile(repoPath(folder, 'package.json'), 'utf8')) as {
        files?: string[];
      };
      for (const entry of pkg.files ?? []) {
        const there = await exists(path.join(app, folder, entry));
        expect(there, `${folder}/${entry}`).toBe(true);
      }
    }
    const modules = await readdir(path.join(app, 'node_modules'));
    for (const dev of DEV_ONLY_PACKAGES) expect(modules, dev).not.toContain(dev);
  });

  it('refuses to start in production without each variable it requires, naming it', async () => {
    env = {
      ...image.env,
      ...filledIn(overlays.environmentOf('production', s)),
      AMQP_URL: broker.url(s.name),
      DATABASE_URL: db.url(s.schema),
      PORT: '0',
      HOST: '127.0.0.1',
      OPS_PORT: '0',
      OPS_HOST: '127.0.0.1',
      PATH: `${path.dirname(node24)}:/usr/bin:/bin`,
    };
    expect(env.NODE_ENV).toBe('production');
    expect(env.NODE_PATH).toBeUndefined();
    for (const variable of s.requiredInProduction) {
      const { [variable]: _left, ...without } = env;
      const run = start(image, without);
      const code = await Promise.race([
        run.exited,
        waitFor(() => listeningPort(run.output()), { timeoutMs: 60_000, what: `${s.name} to stop` }).then(
          () => 'started',
        ),
      ]);
      if (code === 'started') run.child.kill('SIGKILL');
      expect(code, `${s.name} without ${variable}`).not.toBe('started');
      expect(code).not.toBe(0);
      expect(run.output()).toContain(variable);
    }
  }, 300_000);

  it('starts from its image folder alone, becomes ready, passes its health check and exits 0 on SIGTERM', async () => {
    const started = Date.now();
    const run = start(image, env);
    const port = await waitFor(() => listeningPort(run.output()) ?? (run.child.exitCode !== null ? -1 : 0), {
      timeoutMs: 120_000,
      what: `${s.name} to listen`,
    });
    expect(port, run.output()).toBeGreaterThan(0);
    // The order API answers /readyz on its operations listener, a consumer on its one port.
    const opsPort = listeningPort(run.output(), 'opsPort') ?? port;
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${opsPort}/readyz`, { signal: AbortSignal.timeout(2_000) })).status ===
        200,
      { timeoutMs: 120_000, what: `${s.name} /readyz` },
    );
    const ready = Date.now();

    const healthcheck = start(
      image,
      { ...env, PORT: String(port), OPS_PORT: String(opsPort) },
      image.healthcheck ?? ['false'],
    );
    expect(await healthcheck.exited).toBe(0);

    run.child.kill('SIGTERM');
    const code = await Promise.race([
      run.exited,
      waitFor(() => false, { timeoutMs: 60_000, what: `${s.name} to exit after SIGTERM` }),
    ]);
    expect(code, run.output()).toBe(0);
    timings.push(
      `${s.name}: ready in ${((ready - started) / 1000).toFixed(1)} s, stopped in ${((Date.now() - ready) / 1000).toFixed(1)} s`,
    );
  }, 300_000);
});
