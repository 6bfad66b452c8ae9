import type { ScenarioRow, SuiteReport } from './fault-suite.js';
import { rowPassed } from './fault-suite.js';

function recovery(row: ScenarioRow): string {
  if (!row.faulted) return 'no fault';
  return row.recoveryMs === undefined ? 'not recovered' : `${(row.recoveryMs / 1000).toFixed(1)} s`;
}

function cells(row: ScenarioRow): string[] {
  const passed = row.checks.filter((c) => c.ok).length;
  return [
    String(row.id),
    row.title,
    String(row.accepted),
    String(row.lost),
    String(row.duplicated),
    String(row.windowDuplicated),
    recovery(row),
    `${Math.round(row.durationMs / 1000)} s`,
    `${passed}/${row.checks.length}`,
    rowPassed(row) ? 'pass' : 'FAIL',
  ];
}

const HEADER = [
  '#',
  'scenario',
  'accepted',
  'lost',
  'duplicated',
  'in crash window',
  'time to recover',
  'duration',
  'checks',
  'result',
];

/** The results as a Markdown table (also readable in a terminal), one row per scenario. */
export function resultsTable(rows: readonly ScenarioRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(HEADER), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** Every check with its detail, failures first, and the notes: what a reader needs after a FAIL. */
export function resultsDetail(report: SuiteReport): string {
  const minutes = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 60_000;
  const out: string[] = [
    `RabbitMQ ${report.broker.version} (--broker ${report.broker.setting}), ${report.profile} profile, ${minutes.toFixed(1)} min`,
  ];
  for (const row of report.rows) {
    out.push(`${row.id}. ${row.title}`);
    for (const c of [...row.checks].sort((a, b) => Number(a.ok) - Number(b.ok))) {
      out.push(`   ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
    }
    for (const n of row.notes) out.push(`   note ${n}`);
    for (const p of row.problems) out.push(`   order ${p}`);
  }
  return out.join('\n');
}
