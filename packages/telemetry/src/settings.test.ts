import { describe, expect, it } from 'vitest';
import { TelemetryConfigError, telemetrySettings } from './settings.js';

describe('telemetrySettings', () => {
  it('is off without an OTLP endpoint, and when OTEL_SDK_DISABLED says so', () => {
    expect(telemetrySettings({})).toBeNull();
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBeNull();
    expect(
      telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeNull();
  });

  it('sends traces to <endpoint>/v1/traces over http/protobuf by default', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: undefined,
    });
    expect(
      telemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example/prefix',
        OTEL_SERVICE_NAME: 'email',
      }),
    ).toMatchObject({ endpoint: 'https://otel.example/prefix/v1/traces', serviceName: 'email' });
  });

  it('takes the traces endpoint as it is, and the JSON protocol when asked', () => {
    expect(
      telemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      }),
    ).toEqual({ endpoint: 'http://collector:4318/custom', protocol: 'http/json', serviceName: undefined });
  });

  it('refuses an unusable endpoint or protocol, naming the variable', () => {
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318:x' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    expect(() => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(
      TelemetryConfigError,
    );
    expect(() =>
      telemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
      }),
    ).toThrow(/OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be one of http\/protobuf, http\/json, not "grpc"/);
  });
});
