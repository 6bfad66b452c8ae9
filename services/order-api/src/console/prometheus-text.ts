/** One sample of Prometheus' text exposition format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_m, ch: string) => (ch === 'n' ? '\n' : ch));
}

/** The samples of a metrics page whose name is one of `names` (comments and others skipped). */
export function parseSamples(text: string, names: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE_LINE.exec(line.trim());
    if (!m?.[1] || !names.has(m[1])) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = unescapeLabel(l[2]!);
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of a counter over every sample whose labels include `match`; null when it has none. */
export function counterTotal(
  text: string,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number | null {
  const samples = parseSamples(text, new Set([name])).filter((s) =>
    Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
  return samples.length ? samples.reduce((n, s) => n + s.value, 0) : null;
}
