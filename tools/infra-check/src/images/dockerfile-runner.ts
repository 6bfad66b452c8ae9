import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { execForm, parseDockerfile, parsePairs, splitArg, substitute } from './dockerfile.js';
import type { Stage } from './dockerfile.js';

// Runs a Dockerfile's stages without a Docker engine: each stage gets a folder standing
// for its root filesystem, absolute paths in COPY, WORKDIR and RUN are mapped into it,
// RUN commands run with sh in the mapped WORKDIR with the stage's ENV and ARGs, and
// COPY --from copies between stage folders. What needs the base image's operating
// system (apt-get) is skipped and reported. `COPY . .` makes the build context itself
// the stage's WORKDIR instead of copying it, which suits stages that only read it.

export interface DockerBuildOptions {
  readonly dockerfile: string;
  readonly context: string;
  /** Empty folder the stage filesystems are made in. */
  readonly workDir: string;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Environment of the RUN commands (PATH decides which node and npm run them). */
  readonly env: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  /**
   * Runs each RUN step (`run`) and may hold it back first, as a shared build cache makes
   * one build wait for another's layer; `step` is `<stage>: RUN <command>`.
   */
  readonly aroundRun?: (step: string, run: () => Promise<void>) => Promise<void>;
}

export interface DockerImage {
  /** Host folder standing for the final stage's WORKDIR. */
  readonly workdir: string;
  /** Host folder standing for the final stage's root. */
  readonly root: string;
  readonly env: Record<string, string>;
  readonly cmd: string[];
  readonly entrypoint: string[];
  readonly healthcheck: string[] | undefined;
  readonly user: string | undefined;
  readonly labels: Record<string, string>;
  readonly exposed: string[];
  /** RUN commands that were not run, with why. */
  readonly skipped: string[];
  readonly steps: { readonly step: string; readonly ms: number }[];
}

interface StageState {
  name: string;
  root: string;
  aliases: Map<string, string>;
  env: Map<string, string>;
  args: Map<string, string>;
  workdir: string;
}

function hostPath(state: StageState, containerPath: string): string {
  const p = path.posix.resolve(state.workdir, containerPath);
  const aliases = [...state.aliases].sort(([a], [b]) => b.length - a.length);
  for (const [prefix, host] of aliases) {
    if (p === prefix || p.startsWith(`${prefix}/`)) return path.join(host, p.slice(prefix.length));
  }
  return path.join(state.root, p);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv, log?: (l: string) => void) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      for (const line of text.split('\n')) if (line.trim()) log?.(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} exited with ${code}:\n${output}`)),
    );
  });
}

/** Maps every absolute path in a shell command into the stage's folder. */
function mapCommand(state: StageState, command: string): string {
  return command.replace(
    /(^|[\s"'=])(\/[^\s"';|&]*)/g,
    (_m, lead: string, p: string) => lead + hostPath(state, p),
  );
}

function flagsAndRest(args: string): { flags: Map<string, string>; rest: string } {
  const flags = new Map<string, string>();
  let rest = args;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!m) break;
    flags.set(m[1] as string, m[2] ?? '');
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

export async function runDockerfile(options: DockerBuildOptions): Promise<DockerImage> {
  const parsed = parseDockerfile(await readFile(options.dockerfile, 'utf8'));
  const globals = new Map<string, string>();
  for (const [k, v] of parsed.globalArgs) globals.set(k, options.buildArgs[k] ?? v ?? '');

  const states = new Map<string, StageState>();
  const laterUses = (index: number, name: string) =>
    parsed.stages
      .slice(index + 1)
      .some(
        (s) =>
          s.base === name ||
          s.instructions.some((i) => i.keyword === 'COPY' && i.args.includes(`--from=${name}`)),
      );
  /** Whether stage `name` is read after instruction `insIndex` of stage `index`. */
  const usedAfter = (name: string, index: number, insIndex: number) =>
    laterUses(index, name) ||
    (parsed.stages[index]?.instructions ?? [])
      .slice(insIndex + 1)
      .some((i) => i.keyword === 'COPY' && i.args.includes(`--from=${name}`));
  const steps: { step: string; ms: number }[] = [];
  const skipped: string[] = [];
  let final: (StageState & { stage: Stage }) | undefined;
  const meta = {
    cmd: [] as string[],
    entrypoint: [] as string[],
    healthcheck: undefined as string[] | undefined,
    user: undefined as string | undefined,
    labels: {} as Record<string, string>,
    exposed: [] as string[],
  };

  for (const [index, stage] of parsed.stages.entries()) {
    const name = stage.name ?? `stage-${index}`;
    const base = substitute(stage.base, globals);
    const parent = states.get(base);
    let state: StageState;
    if (parent) {
      const root = path.join(options.workDir, name);
      // A parent used again later keeps its own copy, as every stage gets a copy of its base.
      if (laterUses(index, base)) await cp(parent.root, root, { recursive: true, verbatimSymlinks: true });
      else await rename(parent.root, root);
      state = {
        name,
        root,
        aliases: new Map(parent.aliases),
        env: new Map(parent.env),
        args: new Map(),
        workdir: parent.workdir,
      };
    } else {
      state = {
        name,
        root: path.join(options.workDir, name),
        aliases: new Map(),
        env: new Map(),
        args: new Map(),
        workdir: '/',
      };
    }
    await mkdir(state.root, { recursive: true });
    const vars = () => new Map([...state.args, ...state.env]);
    const isFinal = index === parsed.stages.length - 1;

    for (const [insIndex, ins] of stage.instructions.entries()) {
      const started = Date.now();
      switch (ins.keyword) {
        case 'ARG': {
          const [k, v] = splitArg(ins.args);
          state.args.set(k, options.buildArgs[k] ?? v ?? globals.get(k) ?? '');
          break;
        }
        case 'ENV':
          for (const [k, v] of parsePairs(ins.args)) state.env.set(k, substitute(v, vars()));
          break;
        case 'WORKDIR':
          state.workdir = path.posix.resolve(state.workdir, substitute(ins.args, vars()));
          await mkdir(hostPath(state, state.workdir), { recursive: true });
          break;
        case 'COPY': {
          const { flags, rest } = flagsAndRest(ins.args);
          const parts = substitute(rest, vars()).split(/\s+/);
          const dest = parts.pop() as string;
          const from = flags.get('from');
          const source = from ? states.get(from) : undefined;
          if (from && !source) throw new Error(`COPY --from=${from}: no such stage before line ${ins.line}`);
          for (const src of parts) {
            if (!from && src === '.') {
              state.aliases.set(path.posix.resolve(state.workdir, dest), options.context);
              continue;
            }
            const origin = source ? hostPath(source, src) : path.join(options.context, src);
            const target = hostPath(state, dest);
            if (
              from &&
              !usedAfter(from, index, insIndex) &&
              !(await exists(target)) &&
              (await isDir(origin))
            ) {
              // Nothing reads that stage again: move its folder instead of copying it.
              await mkdir(path.dirname(target), { recursive: true });
              await rename(path.resolve(origin), path.resolve(target));
            } else if (await isDir(origin)) {
              await mkdir(target, { recursive: true });
              await cp(origin, target, { recursive: true, verbatimSymlinks: true });
            } else {
              const into = dest.endsWith('/') || (await isDir(target));
              const file = into ? path.join(target, path.basename(src)) : target;
              await mkdir(path.dirname(file), { recursive: true });
              await cp(origin, file);
            }
          }
          steps.push({ step: `${name}: COPY ${ins.args}`, ms: Date.now() - started });
          break;
        }
        case 'RUN': {
          const { rest } = flagsAndRest(ins.args);
          if (/^apt-get\b/.test(rest)) {
            skipped.push(`${name}: ${rest} (operating system packages of the base image)`);
            break;
          }
          const command = mapCommand(state, rest);
          options.log?.(`[${name}] RUN ${rest}`);
          const env = { ...options.env, ...Object.fromEntries(state.args), ...Object.fromEntries(state.env) };
          const cwd = hostPath(state, state.workdir);
          if (!(await exists(cwd))) await mkdir(cwd, { recursive: true });
          const step = `${name}: RUN ${rest}`;
          const run = () => runShell(command, cwd, env, options.log);
          await (options.aroundRun ? options.aroundRun(step, run) : run());
          steps.push({ step, ms: Date.now() - started });
          break;
        }
        case 'LABEL':
          if (isFinal) for (const [k, v] of parsePairs(ins.args)) meta.labels[k] = substitute(v, vars());
          break;
        case 'USER':
          if (isFinal) meta.user = substitute(ins.args, vars());
          break;
        case 'EXPOSE':
          if (isFinal) meta.exposed.push(substitute(ins.args, vars()));
          break;
        case 'HEALTHCHECK': {
          const { rest } = flagsAndRest(ins.args);
          const m = /^CMD\s+(.*)$/.exec(rest);
          if (!m) throw new Error(`HEALTHCHECK without CMD at line ${ins.line}`);
          if (isFinal) meta.healthcheck = execForm(m[1] as string);
          break;
        }
        case 'ENTRYPOINT':
          if (isFinal) meta.entrypoint = execForm(ins.args);
          break;
        case 'CMD':
          if (isFinal) meta.cmd = execForm(ins.args);
          break;
        default:
          throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} is not supported by the runner`);
      }
    }
    states.set(name, state);
    if (isFinal) final = { ...state, stage };
  }
  if (!final) throw new Error('the Dockerfile has no stage');
  return {
    workdir: hostPath(final, final.workdir),
    root: final.root,
    env: Object.fromEntries(final.env),
    ...meta,
    skipped,
    steps,
  };
}
