import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A run that was SIGKILLed (a CI timeout, a killed test worker) cannot tear down its
// private broker nodes, PostgreSQL and HAProxy. The next run finds them by their folder
// and stops them, so the machine does not fill up with orphans run after run.

export const RUN_DIR_PREFIX = 'notify-faults-';
const OWNER_FILE = 'suite.pid';

export async function markOwner(dir: string): Promise<void> {
  await writeFile(join(dir, OWNER_FILE), String(process.pid));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills `pid` only if its command line or environment mentions `dir` (a broker node gets
 * its folders through the environment): a recycled pid is left alone.
 */
async function killIfOurs(pid: number, dir: string, signal: NodeJS.Signals): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    const read = (f: string) => readFile(`/proc/${pid}/${f}`, 'utf8').catch(() => '');
    const text = `${await read('cmdline')}\0${await read('environ')}`;
    if (!text.includes(dir)) return false;
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function pidFrom(file: string): Promise<number> {
  try {
    return Number((await readFile(file, 'utf8')).split('\n')[0]?.trim());
  } catch {
    return NaN;
  }
}

/** Stops what runs that no longer exist left behind and removes their folders. Returns them. */
export async function sweepStaleRuns(log: (line: string) => void): Promise<string[]> {
  const base = tmpdir();
  const swept: string[] = [];
  const entries = await readdir(base).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith(RUN_DIR_PREFIX))) {
    const dir = join(base, name);
    const owner = await pidFrom(join(dir, OWNER_FILE));
    if (Number.isNaN(owner) || alive(owner)) continue;
    const inside = await readdir(dir).catch(() => [] as string[]);
    for (const sub of inside.filter((s) => s.startsWith('rabbit-'))) {
      await killIfOurs(await pidFrom(join(dir, sub, 'rabbitmq.pid')), dir, 'SIGKILL');
    }
    // SIGQUIT is PostgreSQL's immediate shutdown.
    await killIfOurs(await pidFrom(join(dir, 'postgres', 'data', 'postmaster.pid')), dir, 'SIGQUIT');
    await killIfOurs(await pidFrom(join(dir, 'haproxy.pid')), dir, 'SIGKILL');
    // The run's own epmd (RabbitMQ 4 runs); its environment names the folder.
    await killIfOurs(await pidFrom(join(dir, 'epmd.pid')), dir, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1_000));
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    swept.push(dir);
    log(`removed what an interrupted run (pid ${owner}) left in ${dir}`);
  }
  return swept;
}
