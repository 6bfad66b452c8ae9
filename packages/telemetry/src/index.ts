export { telemetrySettings, TelemetryConfigError } from './settings.js';
export type { OtlpProtocol, TelemetrySettings } from './settings.js';
export { shutdownTelemetry, telemetryStarted } from './state.js';
