// `npm run system:faults -- --profile full`: the fault suite from the command line.
// Prints the results table and exits non-zero if any row lost or duplicated an effect
// or failed one of its checks.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCliOptions, USAGE, UsageError } from './cli-options.js';
import { FaultSuite } from './fault-suite.js';
import { resultsDetail, resultsTable } from './results-table.js';

async function main(): Promise<number> {
  let options;
  try {
    options = parseCliOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const suite = new FaultSuite({
    profile: options.profile,
    broker: options.broker,
    ...(options.scenarios ? { scenarios: options.scenarios } : {}),
    ...(options.logs ? { keepLogsIn: resolve(options.logs) } : {}),
  });
  let interrupted = false;
  const interrupt = () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('interrupted: removing the private broker, database and services...\n');
    void suite.teardown().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);

  try {
    const report = await suite.run();
    process.stdout.write(`\n${resultsTable(report.rows)}\n\n${resultsDetail(report)}\n\n`);
    if (options.json) await writeFile(resolve(options.json), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      report.passed
        ? 'every row: nothing lost, nothing duplicated, every check passed\n'
        : 'FAILED: see the rows marked FAIL above\n',
    );
    return report.passed ? 0 : 1;
  } finally {
    await suite.teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `fault suite could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
