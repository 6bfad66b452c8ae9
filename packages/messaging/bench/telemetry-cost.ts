// What tracing costs the messaging layer: the package's publish and consume throughput
// with no OpenTelemetry SDK (what a service runs without OTEL_EXPORTER_OTLP_ENDPOINT) and
// with the SDK recording a span per publish and per delivery, batched and exported as OTLP
// protobuf to a collector stand-in in another process, in one run against the same broker.
//
//   npx tsx packages/messaging/bench/telemetry-cost.ts [messages] [window]
//
// Runs off, on, on, off, so neither side always meets a warmer broker; each figure is the
// mean of its two runs. Besides the rates it prints this process's CPU time per message
// (user + system, publish and consume together): on a machine other work is loading, the
// rates follow the load, while CPU per message stays close to what tracing itself costs. The SDK is set up as packages/telemetry's preload does it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fullTopology } from '@notify/contracts';
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Broker } from '../src/index.js';
import { createTestVhost } from '../src/testing/index.js';
import { packageConsume, packagePublish } from './package-side.js';

const N = Number(process.argv[2] ?? 20_000);
const WINDOW = Number(process.argv[3] ?? 256);

// A collector that reads and drops what it is sent, in a process of its own so its CPU is
// not counted against the measured one.
const SINK = `
const server = require('node:http').createServer((req, res) => {
  req.on('data', () => {}).on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startSink(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}/v1/traces`, stop: () => child.kill() };
}

async function round(url: string): Promise<{ publish: number; consume: number; cpuMicros: number }> {
  const cpu = process.cpuUsage();
  const publish = await packagePublish(url, N, WINDOW);
  const consume = await packageConsume(url, N);
  const used = process.cpuUsage(cpu);
  return { publish, consume, cpuMicros: (used.user + used.system) / (2 * N) };
}

const sink = await startSink();
const vh = await createTestVhost('bench-otel');
let provider: NodeTracerProvider | null = null;
const tracingOn = () => {
  provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: sink.url }))],
  });
  provider.register();
};
const tracingOff = async () => {
  await provider?.shutdown();
  provider = null;
  trace.disable();
  context.disable();
  propagation.disable();
};
try {
  const b = await Broker.connect({ url: vh.url, connectionName: 'bench-setup', topology: fullTopology() });
  await b.waitUntilConnected();
  await b.close();

  await round(vh.url); // warms the JIT and the broker's queues; not counted
  const off1 = await round(vh.url);
  tracingOn();
  const on1 = await round(vh.url);
  const on2 = await round(vh.url);
  await tracingOff();
  const off2 = await round(vh.url);

  const mean = (a: number, b: number) => (a + b) / 2;
  const f = (n: number) => n.toFixed(0).padStart(8);
  const offPub = mean(off1.publish, off2.publish);
  const onPub = mean(on1.publish, on2.publish);
  const offCon = mean(off1.consume, off2.consume);
  const onCon = mean(on1.consume, on2.consume);
  const offCpu = mean(off1.cpuMicros, off2.cpuMicros);
  const onCpu = mean(on1.cpuMicros, on2.cpuMicros);
  console.log(`messages=${N} window=${WINDOW} node=${process.version}`);
  console.log('direction           tracing off  tracing on (OTLP)  ratio');
  console.log(`publish (confirmed) ${f(offPub)}/s   ${f(onPub)}/s        ${(onPub / offPub).toFixed(2)}`);
  console.log(`consume + ack       ${f(offCon)}/s   ${f(onCon)}/s        ${(onCon / offCon).toFixed(2)}`);
  const us = (n: number) => n.toFixed(1).padStart(7);
  console.log(
    `CPU per message     ${us(offCpu)} µs   ${us(onCpu)} µs          ${(onCpu / offCpu).toFixed(2)}`,
  );
} finally {
  await vh.delete();
  sink.stop();
}
