import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { counterValue } from './test-support/local-system.js';
import { freePortRange } from './tcp-ports.js';

// `npm start`'s supervisor as npm runs it: the built CLI as a process of its own, on ports
// and a vhost and database of this test, stopped the ways a person stops it.

const START = fileURLToPath(new URL('../dist/cli/start.js', import.meta.url));

interface RunningSupervisor {
  readonly child: ChildProcess;
  /** Every line it printed so far (its own and, as JSON, the services'). */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Each service's URL, operations URL and pid, from its readiness line. */
  readonly services: Map<ServiceName, { url: string; opsUrl: string; pid: number }>;
  /** Runs `action` as soon as a line starting with `prefix` is read, within the same turn. */
  onLine(prefix: string, action: () => void): void;
}

/** Whether the process exists and is not a zombie left for a parent that does not reap. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** The JSON log lines of one service, as the supervisor passed them on. */
function logOf(
  lines: readonly string[],
  service: ServiceName,
): { at: number; msg: string; signal?: string }[] {
  const out: { at: number; msg: string; signal?: string }[] = [];
  lines.forEach((line, at) => {
    if (!line.startsWith('{')) return;
    const entry = JSON.parse(line) as { service?: string; msg?: string; signal?: string };
    if (entry.service === service && entry.msg) out.push({ at, msg: entry.msg, signal: entry.signal });
  });
  return out;
}

describe('npm start, the supervisor', () => {
  let vhost: TestVhost;
  let database: TestDatabase;
  let supervisor: RunningSupervisor | undefined;

  beforeEach(async () => {
    vhost = await createTestVhost('system-start');
    database = await createTestDatabase('system_start');
  });

  afterEach(async () => {
    if (supervisor) {
      supervisor.child.kill('SIGKILL');
      for (const { pid } of supervisor.services.values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
      supervisor = undefined;
    }
    await vhost?.delete().catch(() => undefined);
    await database?.drop().catch(() => undefined);
  });

  async function start(): Promise<RunningSupervisor> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AMQP_URL: vhost.url,
      DATABASE_URL: database.url,
      // The six public ports and the order API's operations port after them.
      PORT_BASE: String(await freePortRange(SERVICE_NAMES.length + 1)),
      MAIL_CATCHER_SMTP_PORT: '0',
      MAIL_CATCHER_HTTP_PORT: '0',
      WHATSAPP_SANDBOX_PORT: '0',
      LOG_PRETTY: '0',
      LOG_LEVEL: 'info',
    };
    for (const name of [
      'SMTP_URL',
      'TWILIO_API_BASE_URL',
      'TWILIO_AUTH_TOKEN',
      'WHATSAPP_STATUS_CALLBACK_URL',
    ])
      delete env[name];
    const child = spawn(process.execPath, [START], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const services = new Map<ServiceName, { url: string; opsUrl: string; pid: number }>();
    const watchers: { prefix: string; action: () => void }[] = [];
    const onLine = (line: string) => {
      lines.push(line);
      for (const w of [...watchers]) {
        if (!line.startsWith(w.prefix)) continue;
        watchers.splice(watchers.indexOf(w), 1);
        w.action();
      }
      const ready =
        /^(\S+)\s+ready after [\d.]+ s \((http:\/\/[^\s,]+)(?:, operations (http:\/\/[^\s,]+))?, pid (\d+)\)/.exec(
          line,
        );
      if (ready)
        services.set(ready[1] as ServiceName, {
          url: ready[2]!,
          opsUrl: ready[3] ?? ready[2]!,
          pid: Number(ready[4]),
        });
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    supervisor = {
      child,
      lines,
      exited,
      services,
      onLine: (prefix, action) => watchers.push({ prefix, action }),
    };
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(
      () => {
        if (gone) throw new Error(`the supervisor exited while starting:\n${lines.slice(-30).join('\n')}`);
        return lines.includes('Press Ctrl-C to stop.');
      },
      { timeoutMs: 180_000, intervalMs: 100, what: 'the system running' },
    );
    return supervisor;
  }

  it('prints one ready line per service, and the services run on its Node, the one this test runs on', async () => {
    const { lines, services } = await start();
    expect([...services.keys()].sort()).toEqual([...SERVICE_NAMES].sort());
    for (const name of SERVICE_NAMES) {
      expect(lines.filter((l) => l.startsWith(`${name} `) && l.includes(' ready after '))).toHaveLength(1);
      const r = await fetch(`${services.get(name)!.opsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
      const metrics = await r.text();
      expect(counterValue(metrics, 'nodejs_version_info', { version: process.version }), name).toBe(1);
    }
  });

  it("a Ctrl-C, with npm's copy of it a moment later, stops every service with its drain, the order API last", async () => {
    const { child, lines, exited, services, onLine } = await start();
    // npm forwards the terminal's SIGINT once it has had it too: after the supervisor took
    // the first (two signals sent at once would merge into one while pending).
    onLine('stopping every service', () => child.kill('SIGINT'));
    child.kill('SIGINT');
    const { code } = await exited;
    expect(code).toBe(0);
    expect(lines.filter((l) => l.startsWith('stopping every service'))).toHaveLength(1);
    expect(lines.at(-1)).toBe('stopped');

    const stoppedAt = new Map<ServiceName, number>();
    for (const name of SERVICE_NAMES) {
      const log = logOf(lines, name);
      const draining = log.filter((l) => l.msg === 'shutting down: draining in-flight work');
      expect(
        draining.map((l) => l.signal),
        name,
      ).toEqual(['SIGTERM']);
      const stopped = log.filter((l) => l.msg === 'stopped');
      expect(stopped, name).toHaveLength(1);
      stoppedAt.set(name, stopped[0]!.at);
      expect(
        log.some((l) => l.msg === 'second signal: exiting now'),
        name,
      ).toBe(false);
    }
    const apiDraining = logOf(lines, 'order-api').find((l) => l.msg.startsWith('shutting down'))!.at;
    for (const name of SERVICE_NAMES.filter((n) => n !== 'order-api'))
      expect(stoppedAt.get(name)!, name).toBeLessThan(apiDraining);
    for (const { pid } of services.values()) expect(alive(pid)).toBe(false);
  });

  it('when the supervisor is gone without stopping them (a second Ctrl-C, a kill), every service stops by itself', async () => {
    const { child, exited, services } = await start();
    child.kill('SIGKILL');
    await exited;
    await waitFor(() => [...services.values()].every(({ pid }) => !alive(pid)), {
      timeoutMs: 60_000,
      what: 'every service process gone',
    }).catch((err: unknown) => {
      const left = [...services].filter(([, { pid }]) => alive(pid)).map(([name]) => name);
      throw new Error(`${String(err)}; still running: ${left.join(', ')}`);
    });
  });
});
