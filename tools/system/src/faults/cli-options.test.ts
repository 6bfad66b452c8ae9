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
    expect(() => parseCliOptions(['--only', '1,14'])).toThrow('no scenario "14"');
    expect(() => parseCliOptions(['--json'])).toThrow('--json needs a value');
  });

  it("runs the machine's RabbitMQ 3.10 unless FAULTS_BROKER or --broker says 4; the option wins", () => {
    expect(parseCliOptions([], {}).broker).toBe('3.10');
    expect(parseCliOptions([], { FAULTS_BROKER: '4' }).broker).toBe('4');
    expect(parseCliOptions(['--broker', '3.10'], { FAULTS_BROKER: '4' }).broker).toBe('3.10');
    expect(parseCliOptions(['--broker=4'], {}).broker).toBe('4');
    expect(() => parseCliOptions(['--broker', '4.1'], {})).toThrow('--broker must be 3.10 or 4, not "4.1"');
    expect(() => parseCliOptions([], { FAULTS_BROKER: 'latest' })).toThrow(UsageError);
  });

  it('refuses the soak in the short profile: it belongs to the full one', () => {
    expect(() => parseCliOptions(['--only', '9'])).toThrow('not part of the short profile');
  });

  it("changes the soak's length and rate, in the full profile only", () => {
    const o = parseCliOptions(['--profile', 'full', '--only', '9', '--soak-minutes', '2.5', '--soak-rate=8']);
    expect(o.profile).toMatchObject({ name: 'full', soakMs: 150_000, soakRate: 8 });
    expect(parseCliOptions(['--profile', 'full']).profile.soakMs).toBe(600_000);
    expect(() => parseCliOptions(['--soak-rate', '8'])).toThrow('has no soak');
    expect(() => parseCliOptions(['--profile', 'full', '--soak-rate', '0'])).toThrow('positive number');
    expect(() => parseCliOptions(['--profile', 'full', '--soak-minutes', 'x'])).toThrow('positive number');
  });
});
