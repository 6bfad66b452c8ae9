import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@notify/service-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLogisticConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'logistic-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const table = {
  maxWeightGrams: 1000,
  dispatchCutoffHourUtc: 24,
  holidays: [],
  zones: [{ id: 'home', countries: ['GB'], transitBusinessDays: { standard: 1 } }],
  carriers: [{ id: 'post', name: 'Post', tracking: { scheme: 'luhn', prefix: 'ZZ', serialDigits: 8 } }],
  rules: [{ zone: 'home', maxWeightGrams: 1000, carrier: 'post', serviceLevel: 'standard' }],
};

function write(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

describe('loadLogisticConfig', () => {
  it('uses the rule table shipped with the service by default', () => {
    const config = loadLogisticConfig({});
    expect(config.rulesFile).toMatch(/config[/\\]shipping-rules\.json$/);
    expect(config.rules.zones.map((z) => z.id)).toContain('domestic');
  });

  it('uses the rule table named by LOGISTIC_RULES_FILE', () => {
    const file = write('good.json', JSON.stringify(table));
    expect(loadLogisticConfig({ LOGISTIC_RULES_FILE: file })).toEqual({ rules: table, rulesFile: file });
  });

  it('refuses a broken table, naming the variable and every problem', () => {
    const broken = { ...table, rules: [{ ...table.rules[0], zone: 'hom' }], maxWeightGrams: -1 };
    const file = write('broken.json', JSON.stringify(broken));
    const err = (() => {
      try {
        loadLogisticConfig({ LOGISTIC_RULES_FILE: file });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(Object.keys((err as ConfigError).variables)).toEqual(['LOGISTIC_RULES_FILE']);
    expect((err as ConfigError).message).toContain('/maxWeightGrams must be >= 1');

    const dangling = write(
      'dangling.json',
      JSON.stringify({ ...table, rules: [{ ...table.rules[0], zone: 'hom' }] }),
    );
    expect(() => loadLogisticConfig({ LOGISTIC_RULES_FILE: dangling })).toThrow(
      /rules\/0 names unknown zone "hom"/,
    );
  });

  it('refuses a file that is not JSON or does not exist', () => {
    expect(() => loadLogisticConfig({ LOGISTIC_RULES_FILE: write('bad.json', '{ zones: ') })).toThrow(
      /LOGISTIC_RULES_FILE .*is not JSON/,
    );
    expect(() => loadLogisticConfig({ LOGISTIC_RULES_FILE: join(dir, 'missing.json') })).toThrow(
      /LOGISTIC_RULES_FILE .*cannot be read \(ENOENT\)/,
    );
  });
});
