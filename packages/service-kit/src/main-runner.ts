import { shutdownTelemetry } from '@notify/telemetry';
import type { Logger } from 'pino';
import { ConfigError } from './config.js';
import { createLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

/**
 * Entry point shared by every service's main.ts: start, stop cleanly on SIGTERM /
 * SIGINT, and turn a start-up failure into one clear line instead of a stack trace.
 */
export async function runMain(
  name: string,
  start: () => Promise<{ stop(): Promise<void> }>,
  options: { shutdownTimeoutMs?: number; logger?: Logger } = {},
): Promise<void> {
  const logger = options.logger ?? createLogger(name);
  try {
    const running = await start();
    onShutdown(
      [
        { name, run: () => running.stop() },
        // The last spans (the drain's included) leave before the process does.
        { name: 'telemetry', run: shutdownTelemetry },
      ],
      {
        logger,
        timeoutMs: options.shutdownTimeoutMs ?? Number(process.env.SHUTDOWN_TIMEOUT_MS ?? 25_000) + 5_000,
      },
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ variables: Object.keys(err.variables) }, err.message);
    } else {
      logger.fatal({ err }, `${name} failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.exitCode = 1;
    // Give pino a tick to flush before exiting.
    setTimeout(() => process.exit(1), 100).unref();
  }
}
