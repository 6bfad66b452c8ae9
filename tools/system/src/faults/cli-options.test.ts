import { describe, expect, it } from 'vitest';
import { parseCliOptions, UsageError } from './cli-options.js';

describe('fault suite command line', () => {
  it('runs the short profile by default', () => {
    const o = parseCliOptions([]);
    expect(o.profile.name).toBe('short');
    expect(o.scenarios).toBeUndefined();
  });

  it('takes the profile, a subset of scenarios and output files, in both spellings', () => {
    const o = parseCliOptions(['--profile', 'full', '--only=1,9', '--json', 'r.json', '--logs=l']);
    expect(o).toMatchObject({ scenarios: [1, 9], json: 'r.json', logs: 'l' });
    expect(o.profile.name).toBe('full');
  });

  it('ignores the separator npm and turbo pass along', () => {
    expect(parseCliOptions(['--', '--profile', 'full']).profile.name).toBe('full');
  });

  it('refuses unknown profiles, options, scenarios and missing values', () => {
    expect(() => parseCliOptions(['--profile', 'huge'])).toThrow(UsageError);
    expect(() => parseCliOptions(['--fast'])).toThrow('unknown option');
    expect(() => parseCliOptions(['--only', '1,12'])).toThrow('no scenario "12"');
    expect(() => parseCliOptions(['--json'])).toThrow('--json needs a value');
  });

  it('refuses the soak in the short profile: it belongs to the full one', () => {
    expect(() => parseCliOptions(['--only', '9'])).toThrow('not part of the short profile');
  });
});
