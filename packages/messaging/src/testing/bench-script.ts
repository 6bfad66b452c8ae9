import { spawn } from 'node:child_process';

export interface BenchScriptRun {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a TypeScript benchmark script the way a person does (`npx tsx <script> <args>`),
 * from `cwd`, and resolves with its output once it exits with 0; rejects with the tail of
 * its output when it exits otherwise, or kills it after `timeoutMs`. The tests that keep
 * every benchmark runnable call it with the script's tiny mode.
 */
export function runBenchScript(
  script: string,
  args: readonly string[],
  { cwd, timeoutMs, env = {} }: { cwd: string; timeoutMs: number; env?: Readonly<Record<string, string>> },
): Promise<BenchScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const cap = (s: string) => (s.length > 1_000_000 ? s.slice(-1_000_000) : s);
    child.stdout.on('data', (d: Buffer) => (stdout = cap(stdout + d.toString())));
    child.stderr.on('data', (d: Buffer) => (stderr = cap(stderr + d.toString())));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const tail = `${stdout.slice(-3000)}\n--- stderr ---\n${stderr.slice(-3000)}`;
      reject(new Error(`${script} ${args.join(' ')} exited with ${code ?? signal}:\n${tail}`));
    });
  });
}
