// The preload: `node --import @notify/telemetry/register dist/main.js`. It must run before
// the application imports http or pg, so their instrumentations can patch them. With
// tracing off it reads a few variables and loads nothing else.
import { TelemetryConfigError, telemetrySettings } from './settings.js';

let settings;
try {
  settings = telemetrySettings(process.env);
} catch (err) {
  if (!(err instanceof TelemetryConfigError)) throw err;
  // Like every other bad variable: one line naming it, and no start.
  process.stderr.write(`invalid configuration: ${err.message}\n`);
  process.exit(1);
}
if (settings) {
  const { startTelemetry } = await import('./sdk.js');
  await startTelemetry(settings);
}
