import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVICE_NAMES } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import type { MailCatcher } from '@notify/mail-catcher';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import { freePortsFor } from '../tcp-ports.js';
import { standInUrls, startStack } from '../stack.js';
import type { ServiceEnv, Stack } from '../stack.js';

export interface SystemOptions {
  readonly amqpUrl: string;
  readonly databaseUrl: string;
  readonly mail: MailCatcher;
  readonly sandbox: WhatsappSandbox;
  /** Every service's output goes to `<logDir>/<service>.log`. */
  readonly logDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly serviceEnv?: ServiceEnv;
  /** Where the services reach the providers instead of the stand-ins' own ports (a ProviderLine). */
  readonly providerUrls?: { readonly smtpUrl: string; readonly twilioUrl: string };
}

/**
 * The six services as separate processes from built output, on free ports, pointed at
 * the private broker and database and at the in-process stand-ins. Processes that exit
 * without being told to are noticed: the scenario that was running fails its checks.
 */
export class SystemUnderTest {
  private readonly unexpected: string[] = [];
  /** Told to stop or killed by the suite: an exit is expected. */
  private readonly expecting = new Set<ServiceName>();
  /** Being started: an exit before ready is the start's failure, handled by its caller. */
  private readonly starting = new Set<ServiceName>();
  private stopped: Promise<void> | null = null;

  private constructor(
    readonly stack: Stack,
    readonly options: SystemOptions,
    private readonly logs: Map<ServiceName, WriteStream>,
    /** When each service's current process printed its first line; cleared on every start. */
    private readonly firstOutput: Map<ServiceName, number>,
  ) {
    for (const p of stack.processes.values()) this.watch(p.name);
  }

  static async start(options: SystemOptions): Promise<SystemUnderTest> {
    const firstOutput = new Map<ServiceName, number>();
    const logs = new Map<ServiceName, WriteStream>(
      SERVICE_NAMES.map((name) => [
        name,
        createWriteStream(join(options.logDir, `${name}.log`), { flags: 'a' }),
      ]),
    );
    const standIns = standInUrls(options.mail, options.sandbox, '"Notify Shop" <orders@shop.example.com>');
    const stack = await startStack(
      {
        amqpUrl: options.amqpUrl,
        databaseUrl: options.databaseUrl,
        ...standIns,
        ...(options.providerUrls
          ? {
              smtpUrl: options.providerUrls.smtpUrl,
              twilio: { ...standIns.twilio, baseUrl: options.providerUrls.twilioUrl },
            }
          : {}),
        ports: await freePortsFor(SERVICE_NAMES),
        env: { LOG_PRETTY: '0', ...options.env },
        ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
        onLine: (service, line) => {
          logs.get(service)?.write(`${line}\n`);
          if (!firstOutput.has(service)) firstOutput.set(service, Date.now());
        },
      },
      180_000,
    );
    return new SystemUnderTest(stack, options, logs, firstOutput);
  }

  get apiUrl(): string {
    return this.stack.apiUrl;
  }

  /**
   * A process that exits without being told to is recorded (the running scenario fails
   * its check) and started again a second later, as a container's restart policy would,
   * so that the suite still finds out whether anything was lost or duplicated.
   */
  private watch(name: ServiceName) {
    const p = this.stack.get(name);
    const starts = p.starts;
    void p.exited().then(async (code) => {
      if (p.starts !== starts || this.expecting.has(name) || this.starting.has(name) || this.stopped) return;
      this.unexpected.push(`${name} exited by itself (code ${code}): ${this.crashLine(name)}`);
      // Like a restart policy: again and again, backing off, while its dependencies are down.
      for (let delay = 1_000, deadline = Date.now() + 300_000; ; delay = Math.min(delay * 2, 10_000)) {
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopped || this.expecting.has(name) || p.running) return;
        try {
          await this.start(name);
          return;
        } catch (err) {
          if (Date.now() > deadline) {
            this.unexpected.push(`${name} could not be restarted: ${(err as Error).message.slice(0, 300)}`);
            return;
          }
        }
      }
    });
  }

  /** The first line of the crash that is not a stack frame, e.g. "Error: Connection terminated unexpectedly". */
  private crashLine(name: ServiceName): string {
    const lines = this.stack.get(name).tail(40);
    const error = lines.find((l) => /^\w*Error\b|^\s*throw|Unhandled/.test(l) && !l.startsWith('{'));
    const detail = lines.find((l) => /^\w*Error: /.test(l));
    return (
      [error, detail].filter(Boolean).join(' / ').slice(0, 400) || lines.slice(-3).join(' | ').slice(0, 400)
    );
  }

  /** SIGKILL, as a crash. Resolves with the time of the kill. */
  async kill(name: ServiceName): Promise<number> {
    this.expecting.add(name);
    const at = Date.now();
    await this.stack.get(name).kill();
    return at;
  }

  /**
   * SIGSTOP: the processes stop consuming (and answering) at once without losing a
   * connection, so messages pile up in their queues. `thaw` lets them go on.
   */
  freeze(names: readonly ServiceName[]): void {
    for (const n of names) {
      const pid = this.stack.get(n).pid;
      if (pid && this.stack.get(n).running) process.kill(pid, 'SIGSTOP');
    }
  }

  thaw(names: readonly ServiceName[]): void {
    for (const n of names) {
      const pid = this.stack.get(n).pid;
      if (pid && this.stack.get(n).running) process.kill(pid, 'SIGCONT');
    }
  }

  async start(name: ServiceName): Promise<void> {
    const p = this.stack.get(name);
    this.starting.add(name);
    this.expecting.delete(name);
    this.firstOutput.delete(name);
    try {
      p.start();
      await p.waitReady(180_000);
    } finally {
      this.starting.delete(name);
    }
    this.watch(name);
  }

  /**
   * When the service's current process printed its first line (it logs before it consumes
   * anything, so it cannot have sent anything before then); undefined if it has not yet.
   */
  firstOutputAt(name: ServiceName): number | undefined {
    return this.firstOutput.get(name);
  }

  /** What exited on its own since the last call (those processes were started again). */
  takeUnexpectedExits(): string[] {
    return this.unexpected.splice(0);
  }

  /** Resident memory of each running process, in bytes. */
  async rss(): Promise<Partial<Record<ServiceName, number>>> {
    const out: Partial<Record<ServiceName, number>> = {};
    for (const p of this.stack.processes.values()) {
      if (!p.pid || !p.running) continue;
      try {
        const status = await readFile(`/proc/${p.pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
        if (kb) out[p.name] = Number(kb) * 1024;
      } catch {
        // exited between the check and the read
      }
    }
    return out;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      for (const name of this.stack.processes.keys()) this.expecting.add(name);
      await this.stack.stop();
      await Promise.all(
        [...this.logs.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))),
      );
    })();
    return this.stopped;
  }
}
