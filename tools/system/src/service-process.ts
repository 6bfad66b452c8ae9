import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { probeReadiness } from './readiness.js';
import type { Readiness } from './readiness.js';
import { serviceDir, serviceEntry } from './services.js';
import type { ServiceName } from '@notify/contracts';

export interface ServiceProcessOptions {
  readonly name: ServiceName;
  readonly port: number;
  /** The operations listener's port (OPS_PORT) of a service that has one apart from `port`. */
  readonly opsPort?: number;
  readonly env: Readonly<Record<string, string>>;
  /** Receives every output line of the process. */
  readonly onLine?: (line: string) => void;
  /** Node binary to run with (default: the current one). */
  readonly node?: string;
}

export interface WaitReadyOptions {
  /** Stops waiting (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /** Hears why the service is not ready yet, once every `waitingEveryMs` (10 s). */
  readonly onWaiting?: (reason: string, waitedMs: number) => void;
  readonly waitingEveryMs?: number;
}

/** See the file: a spawned service stops by itself when its supervisor's pipe closes. */
export const EXIT_WITH_PARENT_PRELOAD = fileURLToPath(
  new URL('../preload/exit-with-parent.mjs', import.meta.url),
);

/** Resolved from the service's directory, as `npm start` and the image do. */
export const TELEMETRY_PRELOAD = '@notify/telemetry/register';

/**
 * One service running from its built output as a separate OS process, the way
 * production runs it. It can be stopped (SIGTERM, drains), killed (SIGKILL) and
 * started again, which is what the fault suite does to it.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exitPromise: Promise<number | null> = Promise.resolve(null);
  private readonly recent: string[] = [];
  starts = 0;

  constructor(readonly options: ServiceProcessOptions) {}

  get name(): ServiceName {
    return this.options.name;
  }

  get port(): number {
    return this.options.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** Where the service answers /healthz, /readyz and /metrics. */
  get opsUrl(): string {
    return `http://127.0.0.1:${this.options.opsPort ?? this.options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last output lines, for error messages. */
  tail(n = 20): string[] {
    return this.recent.slice(-n);
  }

  start(): void {
    if (this.running) return;
    this.starts++;
    const entry = serviceEntry(this.options.name);
    const child = spawn(
      this.options.node ?? process.execPath,
      // Tracing first, before anything imports http or pg (it loads nothing unless
      // OTEL_EXPORTER_OTLP_ENDPOINT is set), as the services' start scripts do.
      ['--import', TELEMETRY_PRELOAD, '--import', EXIT_WITH_PARENT_PRELOAD, entry],
      {
        cwd: serviceDir(this.options.name),
        env: {
          ...process.env,
          ...this.options.env,
          PORT: String(this.options.port),
          ...(this.options.opsPort !== undefined ? { OPS_PORT: String(this.options.opsPort) } : {}),
        },
        // stdin stays an open pipe that the service watches (see the preload).
        stdio: ['pipe', 'pipe', 'pipe'],
        // A process group of its own: a Ctrl-C in the terminal must reach only the
        // supervisor, which stops the services in order.
        // Signalled twice (by the terminal and then by stop()), a service would take the
        // second signal as "exit now" and skip draining.
        detached: true,
      },
    );
    this.child = child;
    const onLine = (line: string) => {
      this.recent.push(line);
      if (this.recent.length > 200) this.recent.splice(0, this.recent.length - 200);
      this.options.onLine?.(line);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null)));
    });
  }

  /**
   * Resolves when the process answers 200 on /readyz, with what that answer noted (see
   * Readiness); rejects if it exits, the deadline
   * passes or `signal` aborts. While it waits, `onWaiting` hears why it is not ready yet,
   * every `waitingEveryMs`.
   */
  async waitReady(
    timeoutMs = 60_000,
    options: WaitReadyOptions = {},
  ): Promise<Extract<Readiness, { ready: true }>> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    const every = options.waitingEveryMs ?? 10_000;
    let nextReport = started + every;
    const child = this.child;
    let exited = false;
    void this.exitPromise.then(() => {
      exited = true;
    });
    for (;;) {
      options.signal?.throwIfAborted();
      if (exited || !child || child !== this.child) {
        throw new Error(`${this.name} exited before it was ready:\n${this.tail().join('\n')}`);
      }
      const readiness = await probeReadiness(this.opsUrl);
      if (readiness.ready) return readiness;
      const now = Date.now();
      if (now > deadline)
        throw new Error(
          `${this.name} not ready after ${timeoutMs} ms (${readiness.reason}):\n${this.tail().join('\n')}`,
        );
      if (options.onWaiting && now >= nextReport) {
        nextReport = now + every;
        options.onWaiting(readiness.reason, now - started);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Graceful stop: SIGTERM, then SIGKILL after `timeoutMs`. Resolves with the exit code. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Crash: SIGKILL, no drain. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGKILL');
    await this.exitPromise;
  }

  exited(): Promise<number | null> {
    return this.exitPromise;
  }
}
