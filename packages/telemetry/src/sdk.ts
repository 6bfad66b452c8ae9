import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { register } from 'node:module';
import { dirname, join } from 'node:path';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { TelemetrySettings } from './settings.js';
import { setTelemetryShutdown } from './state.js';

/** Probes and scrapes: asked every few seconds, they would bury the traces that matter. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The modules instrumented through ESM imports (the services import pg as ESM); others
 * are left unwrapped, so the import hook costs nothing for the rest of the graph.
 */
const HOOKED_MODULES = ['pg', 'pg-pool', 'http', 'https', 'node:http', 'node:https'];

/**
 * Starts the OpenTelemetry Node SDK: a tracer provider (AsyncLocalStorage context, W3C
 * trace context), the HTTP and PostgreSQL instrumentations, and batched OTLP export. The
 * messaging layer makes its own publish and consume spans through @opentelemetry/api.
 */
export async function startTelemetry(settings: TelemetrySettings): Promise<void> {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: HOOKED_MODULES } });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName ?? startedPackage() }),
    spanProcessors: [new BatchSpanProcessor(await exporter(settings))],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) =>
          UNTRACED_PATHS.has((req.url ?? '').split('?', 1)[0] ?? ''),
      }),
      // Only queries made while serving something: polling loops and probes stay untraced.
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  setTelemetryShutdown(() => provider.shutdown());
}

async function exporter(settings: TelemetrySettings): Promise<SpanExporter> {
  // Each protocol's exporter is loaded only when chosen.
  if (settings.protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter({ url: settings.endpoint });
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter({ url: settings.endpoint });
}

/** `email` for services/email/dist/main.js: the nearest package.json's name, unscoped. */
function startedPackage(): string {
  const script = process.argv[1];
  let dir = script ? dirname(script) : process.cwd();
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string') return pkg.name.replace(/^@[^/]+\//, '');
    } catch {
      // No package.json here: look one level up.
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown_service:node';
    dir = up;
  }
}
