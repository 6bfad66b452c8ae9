import type { Logger } from 'pino';

/** What a stand-in's CLI keeps of the stand-in it started. */
export interface RunningStandIn {
  logger: Logger;
  close(): Promise<void>;
}

/** The parts of `process` the CLI uses; tests pass a stand-in for it. */
export interface CliProcess {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/**
 * Runs a stand-in's command line: `start` reads the configuration, starts the stand-in and
 * prints where it is. SIGINT or SIGTERM, even one that comes while it starts, closes it and
 * exits 0, or 1 if closing fails.
 * A failure to start is printed as `<tool>: <message>` and exits 1: it is nearly always a
 * setting to correct, and the one line says which, where a stack trace would bury it.
 */
export async function runStandInCli(
  toolName: string,
  start: () => Promise<RunningStandIn>,
  cliProcess: CliProcess = process,
): Promise<void> {
  let running: RunningStandIn | null = null;
  let requested: NodeJS.Signals | null = null;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping || (requested && !running)) {
      // A second signal means the operator does not want to wait for a clean stop.
      cliProcess.exit(1);
      return;
    }
    if (!running) {
      // Still starting (it may already have printed its address): stop once it is up.
      requested = signal;
      return;
    }
    stopping = true;
    const { logger } = running;
    logger.info({ signal }, 'stopping');
    running.close().then(
      () => cliProcess.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'failed to stop cleanly');
        cliProcess.exit(1);
      },
    );
  };
  // Listening before the start, so a signal while it starts is a clean stop too.
  cliProcess.on('SIGINT', stop);
  cliProcess.on('SIGTERM', stop);

  try {
    running = await start();
  } catch (error) {
    console.error(`${toolName}: ${error instanceof Error ? error.message : String(error)}`);
    cliProcess.exit(1);
    return;
  }
  if (requested) stop(requested);
}
