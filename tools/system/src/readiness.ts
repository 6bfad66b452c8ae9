/**
 * What one look at a service's /readyz found. Ready can come with a note: the order API
 * takes orders with the broker down (they wait in its outbox) and says so in its answer.
 */
export type Readiness =
  { readonly ready: true; readonly note?: string } | { readonly ready: false; readonly reason: string };

/** What a supervisor hears while it waits for a service: ready, or still waiting and why. */
export type ReadinessEvent = Readiness & { readonly afterMs: number };

const MAX_TEXT = 200;

/** Text from the network goes to a terminal: no control characters (escape sequences) get through. */
function printable(text: string, max: number): string {
  return text
    .replace(/[\p{Cc}\s]+/gu, ' ')
    .trim()
    .slice(0, max);
}

/** `{ status, checks: { name: boolean } }`, the answer of every service; undefined for anything else. */
function parseReadyz(body: string): { status?: string; failing: string[] } | undefined {
  let parsed: { status?: unknown; checks?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed.checks !== 'object' || parsed.checks === null) return undefined;
  const failing = Object.entries(parsed.checks as Record<string, unknown>)
    .filter(([, ok]) => ok !== true)
    .map(([name]) => printable(name, 40));
  return typeof parsed.status === 'string' ? { status: printable(parsed.status, 40), failing } : { failing };
}

/**
 * One /readyz answer. Every service answers `{ status, checks }`
 * (packages/service-kit/src/ops-server.ts, services/order-api/src/routes/ops-routes.ts),
 * so a failing check is named; anything else is shown cut short, as text, since the port
 * may belong to something that is not one of ours.
 */
export function readinessOf(httpStatus: number, body: string): Readiness {
  const answer = parseReadyz(body);
  let summary = `/readyz answers ${httpStatus}`;
  if (answer) {
    if (answer.status !== undefined) summary += ` "${answer.status}"`;
    if (answer.failing.length) summary += `, failing: ${answer.failing.join(', ')}`;
  } else {
    const text = printable(body, MAX_TEXT);
    if (text) summary += `: ${text}`;
  }
  if (httpStatus !== 200) return { ready: false, reason: summary };
  return answer?.failing.length ? { ready: true, note: summary } : { ready: true };
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `/readyz: no answer within ${timeoutMs} ms`;
  const code = err instanceof Error ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
  if (code === 'ECONNREFUSED') return '/readyz: connection refused (not listening yet)';
  if (typeof code === 'string') return `/readyz: ${code}`;
  return `/readyz: ${err instanceof Error ? err.message : String(err)}`;
}

/** One look at `<baseUrl>/readyz`: ready on 200, otherwise why not. */
export async function probeReadiness(baseUrl: string, timeoutMs = 2_000): Promise<Readiness> {
  try {
    const r = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    return readinessOf(r.status, await r.text());
  } catch (err) {
    return { ready: false, reason: describeFetchError(err, timeoutMs) };
  }
}
