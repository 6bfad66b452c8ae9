import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleMessages } from '@notify/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RULES_FILE, loadRules, parseRules, RulesError } from './fraud-rules.js';
import { rulesJsonSchema } from './fraud-rules-json-schema.js';
import { scoreOrder } from './score-order.js';

let dir: string;
let shipped: Record<string, unknown>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fraud-rules-'));
  shipped = JSON.parse(await readFile(DEFAULT_RULES_FILE, 'utf8')) as Record<string, unknown>;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problemsOf(data: unknown): readonly string[] {
  try {
    parseRules(data);
  } catch (err) {
    if (err instanceof RulesError) return err.problems;
    throw err;
  }
  return [];
}

describe('rules file', () => {
  it('ships a default rule set that passes its schema', async () => {
    const rules = loadRules();
    expect(rules.version).toMatch(/^default-/);
  });

  it('approves the shared example message with the shipped rules, as a first order', async () => {
    const rules = loadRules();
    const a = scoreOrder(exampleMessages.fraud, { email: 0, phone: 0, ip: 0, emailLookback: 0 }, rules);
    expect(a).toEqual({ score: 0, decision: 'approve', rules: [] });
  });

  it('keeps rules/rules.schema.json in step with the schema in code (npm run rules:schema rewrites it)', async () => {
    const onDisk = await readFile(new URL('../rules/rules.schema.json', import.meta.url), 'utf8');
    // Compared as data: the file on disk is formatted by prettier.
    expect(JSON.parse(onDisk)).toEqual(JSON.parse(rulesJsonSchema()));
  });

  it('names every field that does not fit the schema', () => {
    const bad = {
      ...shipped,
      decision: { reviewAt: 40, rejectAt: 140 },
      velocity: { ...(shipped.velocity as object), phone: { windowMinutes: 0, tiers: [] } },
      highRiskCountries: { points: 10, countries: ['XX'] },
      unknownRule: {},
    };
    const problems = problemsOf(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        '/decision/rejectAt must be <= 100',
        '/velocity/phone/windowMinutes must be >= 1',
        '/highRiskCountries/countries/0 must be one of the allowed values',
        '/unknownRule is not allowed',
      ]),
    );
  });

  it('refuses thresholds the schema cannot check: order of decisions and tiers, currencies', () => {
    const problems = problemsOf({
      ...shipped,
      decision: { reviewAt: 80, rejectAt: 70 },
      money: { referenceCurrency: 'EUX', exchangeRates: { GBP: 0.85, ABC: 2 } },
      amount: {
        tiers: [
          { atLeast: 1000, points: 10 },
          { atLeast: 1000, points: 20 },
        ],
      },
    });
    expect(problems).toEqual([
      '/decision/reviewAt must not be greater than /decision/rejectAt',
      '/money/referenceCurrency must be an ISO 4217 currency code',
      '/money/exchangeRates/ABC is not an ISO 4217 currency code',
      '/amount/tiers/1/atLeast must be greater than the tier before it',
    ]);
  });

  it('refuses a rate other than 1 for the reference currency', () => {
    expect(
      problemsOf({ ...shipped, money: { referenceCurrency: 'EUR', exchangeRates: { EUR: 2 } } }),
    ).toEqual(['/money/exchangeRates/EUR is the reference currency and must be 1']);
  });

  it('reports a file that is missing or is not JSON, naming the file', async () => {
    const missing = join(dir, 'missing.json');
    expect(() => loadRules(missing)).toThrow(`fraud rules ${missing} are invalid: cannot be read (ENOENT)`);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"version": ');
    expect(() => loadRules(broken)).toThrow(/is not JSON/);
  });

  it('loads an operator file that changes a weight', async () => {
    const file = join(dir, 'tuned.json');
    await writeFile(file, JSON.stringify({ ...shipped, version: 'tuned', countryMismatch: { points: 99 } }));
    const rules = loadRules(file);
    expect(rules).toMatchObject({ version: 'tuned', countryMismatch: { points: 99 } });
  });
});
