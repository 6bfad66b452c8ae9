/** What a service's /readyz said. */
export interface ReadinessReport {
  readonly status: 'ready' | 'degraded' | 'not ready';
  readonly checks: Readonly<Record<string, boolean>>;
}

/** Where the console reads a service's readiness and metrics. */
export interface ServiceOps {
  readiness(): Promise<ReadinessReport>;
  metrics(): Promise<string>;
}

const STATUSES = new Set(['ready', 'degraded', 'not ready']);

/** A /readyz answer (200 or 503) as a report; anything else is an error. */
export function toReadinessReport(httpStatus: number, body: unknown): ReadinessReport {
  const b = (body ?? {}) as { status?: unknown; checks?: unknown };
  const checks: Record<string, boolean> = {};
  if (b.checks && typeof b.checks === 'object') {
    for (const [k, v] of Object.entries(b.checks)) if (typeof v === 'boolean') checks[k] = v;
  }
  if (typeof b.status === 'string' && STATUSES.has(b.status)) {
    return { status: b.status as ReadinessReport['status'], checks };
  }
  if (httpStatus === 200) return { status: 'ready', checks };
  if (httpStatus === 503) return { status: 'not ready', checks };
  throw new Error(`/readyz answered HTTP ${httpStatus}`);
}

/** A service's operations endpoints over HTTP, each call bounded by `timeoutMs`. */
export function httpServiceOps(baseUrl: string, timeoutMs = 2_000): ServiceOps {
  const get = (path: string) =>
    fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  return {
    async readiness() {
      const r = await get('/readyz');
      const body = await r.json().catch(() => null);
      return toReadinessReport(r.status, body);
    },
    async metrics() {
      const r = await get('/metrics');
      if (!r.ok) throw new Error(`/metrics answered HTTP ${r.status}`);
      return r.text();
    },
  };
}

/** Why a probe failed, in words an operator can act on, without URLs or credentials. */
export function unreachableNote(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string }; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'did not answer in time';
  if (e?.cause?.code === 'ECONNREFUSED') return 'not reachable (connection refused)';
  if (e?.cause?.code) return `not reachable (${e.cause.code})`;
  return e?.message ? e.message.slice(0, 200) : 'not reachable';
}
