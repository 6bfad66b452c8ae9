/** What a started SDK leaves behind, for the process to flush and stop it on exit. */
let stop: (() => Promise<void>) | null = null;

export function setTelemetryShutdown(fn: () => Promise<void>): void {
  stop = fn;
}

/** True once the preload started the SDK in this process. */
export function telemetryStarted(): boolean {
  return stop !== null;
}

/**
 * Exports the spans still buffered and stops the SDK; resolves at once when it never
 * started. Never rejects: losing the last spans must not change how a process exits.
 */
export async function shutdownTelemetry(): Promise<void> {
  const fn = stop;
  stop = null;
  if (fn) await fn().catch(() => {});
}
