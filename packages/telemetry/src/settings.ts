/**
 * When and how the services export traces, from the standard OpenTelemetry variables
 * (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Read by the preload before anything else, so it stays free of SDK imports: with no
 * endpoint set, nothing of the SDK is ever loaded.
 */

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TelemetrySettings {
  /** Where traces go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`. */
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME, or the name of the package whose script was started. */
  readonly serviceName: string | undefined;
}

export class TelemetryConfigError extends Error {
  override name = 'TelemetryConfigError';
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json'];

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * Null when tracing is off: no endpoint, or OTEL_SDK_DISABLED=true. Throws a
 * TelemetryConfigError naming the variable when one is set but unusable.
 */
export function telemetrySettings(env: NodeJS.ProcessEnv = process.env): TelemetrySettings | null {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  const tracesEndpoint = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (!tracesEndpoint && !baseEndpoint) return null;
  const [name, raw] = tracesEndpoint
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint]
    : ['OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint as string];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TelemetryConfigError(`${name} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TelemetryConfigError(`${name} must be an http or https URL, not ${url.protocol}`);
  }
  // The signal path is added to the base endpoint only, as the specification says.
  const endpoint = tracesEndpoint ? url.href : new URL('v1/traces', withSlash(url)).href;

  const protocolName = value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = value(env, protocolName) ?? 'http/protobuf';
  if (!PROTOCOLS.includes(protocol as OtlpProtocol)) {
    throw new TelemetryConfigError(
      `${protocolName} must be one of ${PROTOCOLS.join(', ')}, not "${protocol}"`,
    );
  }
  return { endpoint, protocol: protocol as OtlpProtocol, serviceName: value(env, 'OTEL_SERVICE_NAME') };
}

function withSlash(url: URL): URL {
  const u = new URL(url.href);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}
