// Orders posted to the API with autocannon: as fast as it accepts them (closed loop) or
// at a fixed rate; every request a different customer and client IP, as a shop's traffic.
import autocannon from 'autocannon';
import { sampleOrder } from '../src/sample-order.js';

export interface LoadOptions {
  readonly connections: number;
  readonly seconds: number;
  /** Requests per second over all connections; closed loop when absent. */
  readonly rate?: number;
  /** Hears every accepted order with the wall-clock time (ms) its 201 arrived. */
  readonly onAccepted: (id: string, atMs: number) => void;
}

export interface LoadResult {
  readonly accepted: number;
  readonly seconds: number;
  readonly errors: number;
  readonly non2xx: number;
  /** The first answer that was not a 201, as status and the start of its body. */
  readonly firstRefusal?: string;
  /** HTTP latency, ms (corrected for coordinated omission at a fixed rate). */
  readonly p50: number;
  readonly p99: number;
}

let sequence = 0;

/** A body no earlier request of this process had: own email, phone and client IP. */
function nextOrder(): { body: string; ip: string } {
  const i = sequence++;
  const order = sampleOrder({ customer: (i % 2) as 0 | 1, email: `bench.${process.pid}.${i}@example.com` });
  // Ofcom's drama range (+44 7700 900000-900999) is too small for a run; these are made up.
  order.customer.phone = `+4477009${String(i % 100_000).padStart(5, '0')}`;
  // TEST-NET and benchmarking ranges would repeat too soon; 10/8 gives 16M addresses.
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return { body: JSON.stringify(order), ip };
}

export async function postOrders(apiUrl: string, options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  let firstRefusal: string | undefined;
  const result = await autocannon({
    url: apiUrl,
    connections: options.connections,
    duration: options.seconds,
    // A loaded machine answers slowly; a timeout would count as an error, not as slowness.
    timeout: 30,
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [
      {
        method: 'POST',
        path: '/orders',
        setupRequest: (request) => {
          const { body, ip } = nextOrder();
          // The API takes the client IP from X-Forwarded-For (TRUST_PROXY=true in this run).
          return {
            ...request,
            body,
            headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          };
        },
        onResponse: (status: number, body: string) => {
          if (status !== 201) {
            firstRefusal ??= `${status} ${body.slice(0, 300)}`;
            return;
          }
          options.onAccepted(
            (JSON.parse(body) as { id: string }).id,
            performance.timeOrigin + performance.now(),
          );
        },
      },
    ],
  });
  return {
    accepted: result['2xx'],
    seconds: (performance.now() - started) / 1000,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ...(firstRefusal !== undefined ? { firstRefusal } : {}),
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}
