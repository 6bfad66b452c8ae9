import { execFileSync, spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** Looks a system account up (rabbitmq, postgres) by name; undefined if there is none. */
export function systemUser(name: string): SystemUser | undefined {
  try {
    const line = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
    const [, , uid, gid, , home] = line.split(':');
    if (!uid || !gid) return undefined;
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? '/' };
  } catch {
    return undefined;
  }
}

/**
 * Options to run a child as `user`. Only root can switch users; running as that user
 * already needs nothing. Anything else cannot run the private broker or database.
 */
export function runAs(user: SystemUser): { uid?: number; gid?: number } {
  const me = process.getuid?.();
  if (me === user.uid) return {};
  if (me === 0) return { uid: user.uid, gid: user.gid };
  throw new Error(
    `the fault suite runs private RabbitMQ and PostgreSQL instances as the "${user.name}" account, which needs root (or running as "${user.name}")`,
  );
}

export interface RunOptions {
  readonly user?: SystemUser;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs a command to completion; never throws for a non-zero exit (the caller decides). */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}) {
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(command, args, {
      ...(options.user ? runAs(options.user) : {}),
      cwd: options.cwd ?? options.user?.home ?? process.cwd(),
      env: { ...process.env, ...(options.user ? { HOME: options.user.home } : {}), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like runCommand, but a non-zero exit is an error that carries the command's output. */
export async function mustRun(command: string, args: readonly string[], options: RunOptions = {}) {
  const r = await runCommand(command, args, options);
  if (r.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${r.code}: ${(r.stderr || r.stdout).trim().slice(-2000)}`,
    );
  }
  return r;
}

/** True if a binary is on PATH. */
export async function hasCommand(name: string): Promise<boolean> {
  const r = await runCommand('sh', ['-c', `command -v ${name}`]).catch(() => undefined);
  return r?.code === 0;
}
