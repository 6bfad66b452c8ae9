import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runStandInCli } from './stand-in-cli.js';
import type { CliProcess } from './stand-in-cli.js';
import { recordingLogger } from './test-support/recording-logger.js';

/** Records the signal listeners and exit codes instead of touching the test's own process. */
function fakeProcess() {
  const listeners = new Map<NodeJS.Signals, (signal: NodeJS.Signals) => void>();
  const exits: number[] = [];
  const cliProcess: CliProcess = {
    on: (signal, listener) => listeners.set(signal, listener),
    exit: (code) => {
      exits.push(code);
    },
  };
  const signal = (name: NodeJS.Signals) => listeners.get(name)?.(name);
  return { cliProcess, exits, signal, listeners };
}

/** Lets the close() promise chain settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runStandInCli', () => {
  it('on SIGTERM or SIGINT closes the stand-in once and exits 0', async () => {
    for (const name of ['SIGTERM', 'SIGINT'] as const) {
      const { cliProcess, exits, signal } = fakeProcess();
      const close = vi.fn(async () => undefined);
      await runStandInCli('tool', async () => ({ logger: pino({ level: 'silent' }), close }), cliProcess);
      expect(exits).toEqual([]);

      signal(name);
      await settle();
      expect(close).toHaveBeenCalledTimes(1);
      expect(exits).toEqual([0]);
    }
  });

  it('logs the signal it stops on', async () => {
    const { cliProcess, signal } = fakeProcess();
    const { lines, logger } = recordingLogger();
    await runStandInCli('tool', async () => ({ logger, close: async () => undefined }), cliProcess);
    signal('SIGTERM');
    await settle();
    expect(lines).toEqual([expect.objectContaining({ signal: 'SIGTERM', msg: 'stopping' })]);
  });

  it('exits 1 at once on a second signal, without waiting for the close under way', async () => {
    const { cliProcess, exits, signal } = fakeProcess();
    const close = vi.fn(() => new Promise<void>(() => undefined));
    await runStandInCli('tool', async () => ({ logger: pino({ level: 'silent' }), close }), cliProcess);
    signal('SIGTERM');
    signal('SIGINT');
    expect(exits).toEqual([1]);
    expect(close).toHaveBeenCalledTimes(1);
  });

  it('exits 1 and logs the failure when closing fails', async () => {
    const { cliProcess, exits, signal } = fakeProcess();
    const { lines, logger } = recordingLogger();
    const close = async () => {
      throw new Error('port stuck');
    };
    await runStandInCli('tool', async () => ({ logger, close }), cliProcess);
    signal('SIGTERM');
    await settle();
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({ msg: 'failed to stop cleanly', err: { message: 'port stuck' } });
  });

  it('a signal while the stand-in starts stops it cleanly once it is up', async () => {
    const { cliProcess, exits, signal } = fakeProcess();
    const close = vi.fn(async () => undefined);
    let started = (): void => undefined;
    const up = new Promise<void>((resolve) => (started = resolve));
    const run = runStandInCli(
      'tool',
      async () => {
        await up;
        return { logger: pino({ level: 'silent' }), close };
      },
      cliProcess,
    );
    signal('SIGTERM');
    expect(exits).toEqual([]);
    expect(close).not.toHaveBeenCalled();
    started();
    await run;
    await settle();
    expect(close).toHaveBeenCalledTimes(1);
    expect(exits).toEqual([0]);
  });

  it('prints a start failure as one line naming the tool and exits 1', async () => {
    const { cliProcess, exits } = fakeProcess();
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await runStandInCli(
      'mail-catcher',
      async () => {
        throw new Error('MAIL_CATCHER_SMTP_PORT must be a port number between 0 and 65535, got "smtp"');
      },
      cliProcess,
    );
    expect(printed.mock.calls).toEqual([
      ['mail-catcher: MAIL_CATCHER_SMTP_PORT must be a port number between 0 and 65535, got "smtp"'],
    ]);
    expect(exits).toEqual([1]);
  });

  it('prints something thrown that is not an Error as it is', async () => {
    const { cliProcess } = fakeProcess();
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await runStandInCli('tool', () => Promise.reject('plain text'), cliProcess);
    expect(printed).toHaveBeenCalledWith('tool: plain text');
  });
});
