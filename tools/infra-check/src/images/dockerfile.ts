// A Dockerfile parser for the instructions infra/docker/Dockerfile uses, so the image
// check can run the Dockerfile's own steps rather than a copy of them.

export interface Instruction {
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly base: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: Map<string, string | undefined>;
  readonly stages: Stage[];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] as string;
    if (!first.trim() || first.trim().startsWith('#')) continue;
    const start = i;
    let joined = first;
    while (joined.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      joined = joined.trimEnd().slice(0, -1);
      i++;
      const next = lines[i] as string;
      if (next.trim().startsWith('#')) continue;
      joined += ` ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(joined);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse`);
    instructions.push({
      keyword: (m[1] as string).toUpperCase(),
      args: (m[2] as string).trim(),
      line: start + 1,
    });
  }

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot parse FROM`);
      stages.push({ base: m[1] as string, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} before FROM`);
      const [name, value] = splitArg(ins.args);
      globalArgs.set(name, value);
    } else {
      (stages[stages.length - 1] as Stage).instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

export function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf('=');
  if (eq === -1) return [args.trim(), undefined];
  return [args.slice(0, eq).trim(), unquote(args.slice(eq + 1).trim())];
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v.endsWith(v[0])) return v.slice(1, -1);
  return v;
}

/** `K=V K2="v 2"` pairs of ENV and LABEL. */
export function parsePairs(args: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of args.matchAll(re)) out.push([m[1] as string, unquote(m[2] as string)]);
  return out;
}

/** Substitutes ${VAR} and $VAR as Docker does in WORKDIR, ENV, COPY and FROM. */
export function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a, b) => {
    return vars.get((a ?? b) as string) ?? '';
  });
}

/** The JSON (exec) form of CMD, ENTRYPOINT and HEALTHCHECK CMD. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed as string[];
}
