import { BROKER_VERSIONS } from './broker-binaries.js';
import type { BrokerVersion } from './broker-binaries.js';
import { PROFILES, SCENARIO_IDS } from './fault-profiles.js';
import type { FaultProfile, ScenarioId } from './fault-profiles.js';

export interface CliOptions {
  readonly profile: FaultProfile;
  readonly broker: BrokerVersion;
  readonly scenarios: readonly ScenarioId[] | undefined;
  readonly json: string | undefined;
  readonly logs: string | undefined;
}

export const USAGE = `usage: npm run system:faults -- [--profile short|full] [--broker 3.10|4] [--only 1,4,8] [--json <file>] [--logs <dir>]

  --profile  short (default): every scenario but the soak (9), with a small load and
             shortened retries; full: all of them with production service settings and a
             ten-minute soak
  --broker   the RabbitMQ the private nodes run: 3.10 (default), the machine's packaged
             broker, or 4, the 4.x that tools/rabbitmq4 unpacks (set up on first use);
             FAULTS_BROKER=3.10|4 says the same, the option wins
  --only     run these scenarios of the profile only
  --soak-minutes, --soak-rate
             the soak's length and orders per second (full profile; default 10 min at the
             profile's rate)
  --json     also write the report as JSON to <file>
  --logs     keep every service's log in <dir> (the temporary folder is removed)`;

export class UsageError extends Error {}

function brokerVersion(value: string, from: string): BrokerVersion {
  if ((BROKER_VERSIONS as readonly string[]).includes(value)) return value as BrokerVersion;
  throw new UsageError(`${from} must be ${BROKER_VERSIONS.join(' or ')}, not "${value}"`);
}

export function parseCliOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): CliOptions {
  let profile: FaultProfile = PROFILES.short;
  let broker: BrokerVersion = env.FAULTS_BROKER ? brokerVersion(env.FAULTS_BROKER, 'FAULTS_BROKER') : '3.10';
  let scenarios: ScenarioId[] | undefined;
  let json: string | undefined;
  let logs: string | undefined;
  let soak: { soakMs?: number; soakRate?: number } = {};
  const positive = (flag: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} needs a positive number, not "${v}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--profile': {
        const name = value();
        if (name !== 'short' && name !== 'full') throw new UsageError(`unknown profile "${name}"`);
        profile = PROFILES[name];
        break;
      }
      case '--broker':
        broker = brokerVersion(value(), '--broker');
        break;
      case '--only':
        scenarios = value()
          .split(',')
          .map((s) => {
            const n = Number(s.trim());
            if (!(SCENARIO_IDS as readonly number[]).includes(n)) throw new UsageError(`no scenario "${s}"`);
            return n as ScenarioId;
          });
        break;
      case '--json':
        json = value();
        break;
      case '--logs':
        logs = value();
        break;
      case '--soak-minutes':
        soak = { ...soak, soakMs: Math.round(positive(flag, value()) * 60_000) };
        break;
      case '--soak-rate':
        soak = { ...soak, soakRate: positive(flag, value()) };
        break;
      case '--':
        break;
      default:
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (scenarios) {
    const missing = scenarios.filter((s) => !profile.scenarios.includes(s));
    if (missing.length) {
      throw new UsageError(`scenario ${missing.join(', ')} is not part of the ${profile.name} profile`);
    }
  }
  if ((soak.soakMs ?? soak.soakRate) !== undefined) {
    if (!profile.scenarios.includes(9))
      throw new UsageError(`the ${profile.name} profile has no soak to change`);
    profile = { ...profile, ...soak };
  }
  return { profile, broker, scenarios, json, logs };
}
