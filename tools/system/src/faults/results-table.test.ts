import { describe, expect, it } from 'vitest';
import type { ScenarioRow } from './fault-suite.js';
import { resultsTable } from './results-table.js';

const row = (over: Partial<ScenarioRow>): ScenarioRow => ({
  id: 1,
  title: 'RabbitMQ stop_app / start_app mid-load',
  accepted: 120,
  lost: 0,
  duplicated: 0,
  windowDuplicated: 0,
  recoveryMs: 3_400,
  durationMs: 41_600,
  faulted: true,
  checks: [{ name: 'c', ok: true, detail: '' }],
  notes: [],
  problems: [],
  ...over,
});

describe('results table', () => {
  it('prints one aligned Markdown row per scenario with its verdict', () => {
    const table = resultsTable([
      row({}),
      row({ id: 4, title: 'PostgreSQL restarted', lost: 2, recoveryMs: undefined, windowDuplicated: 1 }),
    ]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]).toMatch(/^\| # \| scenario +\| accepted \| lost \| duplicated \| in crash window \|/);
    expect(lines[2]).toMatch(/\| 120 +\| 0 +\| 0 +\| 0 +\| 3\.4 s +\| 42 s +\| 1\/1 +\| pass +\|$/);
    expect(lines[3]).toMatch(/\| 2 +\| 0 +\| 1 +\| not recovered +\| 42 s +\| 1\/1 +\| FAIL +\|$/);
  });

  it('shows no recovery time for a row without a fault (the soak)', () => {
    const table = resultsTable([row({ id: 9, title: 'soak', recoveryMs: undefined, faulted: false })]);
    expect(table.split('\n')[2]).toMatch(/\| no fault +\| 42 s +\| 1\/1 +\| pass +\|$/);
  });

  it('fails a row whose checks failed even with nothing lost', () => {
    const table = resultsTable([row({ checks: [{ name: 'c', ok: false, detail: 'x' }] })]);
    expect(table.split('\n')[2]).toMatch(/\| 0\/1 +\| FAIL +\|$/);
  });
});
