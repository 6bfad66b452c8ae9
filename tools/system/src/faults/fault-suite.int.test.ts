import { afterAll, describe, expect, it } from 'vitest';
import { PROFILES } from './fault-profiles.js';
import { FaultSuite, rowPassed } from './fault-suite.js';
import type { SuiteReport } from './fault-suite.js';
import { resultsDetail, resultsTable } from './results-table.js';

// The short profile of the fault suite (docs/reliability.md): scenarios 1-8 against a
// private RabbitMQ node, a private 3-node cluster behind HAProxy and a private
// PostgreSQL, never the shared instances other suites use. Takes several minutes.

const suite = new FaultSuite({ profile: PROFILES.short });

afterAll(() => suite.teardown(), 300_000);

describe('fault suite, short profile', () => {
  let report: SuiteReport | undefined;

  it(
    'when the broker, the database, a node of the cluster, a provider or a process fails under load, every accepted order gets all five effects exactly once',
    async () => {
      report = await suite.run();
      process.stdout.write(`\n${resultsTable(report.rows)}\n\n${resultsDetail(report)}\n`);

      expect(report.rows.map((r) => r.id)).toEqual([...PROFILES.short.scenarios]);
      for (const row of report.rows) {
        expect(row.accepted, `scenario ${row.id} placed orders`).toBeGreaterThan(0);
        expect({ scenario: row.id, lost: row.lost, duplicated: row.duplicated }).toEqual({
          scenario: row.id,
          lost: 0,
          duplicated: 0,
        });
      }
    },
    40 * 60_000,
  );

  it('every scenario check held: the fault was really in effect and the system came back by itself', () => {
    if (!report) throw new Error('the suite did not produce a report');
    const failed = report.rows
      .filter((r) => !rowPassed(r))
      .flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `${r.id}. ${c.name}: ${c.detail}`));
    expect(failed).toEqual([]);
  });
});
