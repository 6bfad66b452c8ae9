import type { Logger } from 'pino';

export type ShutdownStep = { name: string; run: () => Promise<unknown> };

/**
 * Runs the steps in order once, on SIGTERM or SIGINT (or when called), bounded by
 * timeoutMs overall, then exits. A second signal exits at once.
 */
export function onShutdown(
  steps: ShutdownStep[],
  options: { logger: Logger; timeoutMs: number; exit?: boolean },
) {
  let running: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    if (running) return running;
    options.logger.info({ signal }, 'shutting down: draining in-flight work');
    const timer = setTimeout(() => {
      options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, options.timeoutMs);
    timer.unref();
    running = (async () => {
      for (const step of steps) {
        try {
          await step.run();
        } catch (err) {
          options.logger.warn(
            { step: step.name, err: err instanceof Error ? err.message : String(err) },
            'shutdown step failed',
          );
        }
      }
      clearTimeout(timer);
      options.logger.info('stopped');
      if (options.exit !== false) process.exit(0);
    })();
    return running;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      options.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return shutdown;
}
