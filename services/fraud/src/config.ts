import { ConfigError, duration, loadConfig, str } from '@notify/service-kit';
import { DEFAULT_RULES_FILE, loadRules } from './fraud-rules.js';
import type { FraudRules } from './fraud-rules.js';

export interface FraudConfig {
  readonly rulesFile: string;
  readonly rules: FraudRules;
  /** Observations (velocity history) older than this are deleted. */
  readonly historyRetentionMs: number;
  readonly retentionIntervalMs: number;
}

/** The fraud service's own variables. An invalid rules file stops the start, naming each bad field. */
export function loadFraudConfig(env: NodeJS.ProcessEnv): FraudConfig {
  const c = loadConfig(
    {
      FRAUD_RULES_FILE: str({
        default: DEFAULT_RULES_FILE,
        desc: 'JSON rules file (weights, thresholds, windows, lists); defaults to the shipped rules/default.json',
      }),
      FRAUD_HISTORY_RETENTION: duration({
        default: 30 * 86_400_000,
        desc: 'How long an order is kept in the velocity history (pseudonymised contact digests)',
      }),
      RETENTION_INTERVAL: duration({ default: 600_000, desc: 'Time between retention sweeps' }),
    },
    env,
  );
  const rules = loadRules(c.FRAUD_RULES_FILE);
  const longestWindowMs =
    Math.max(
      rules.velocity.email.windowMinutes,
      rules.velocity.phone.windowMinutes,
      rules.velocity.ip.windowMinutes,
    ) * 60_000;
  // Deleting history a window still looks at would lower velocity scores silently.
  if (c.FRAUD_HISTORY_RETENTION < 2 * longestWindowMs) {
    throw new ConfigError({
      FRAUD_HISTORY_RETENTION: `must be at least twice the longest velocity window (${longestWindowMs / 60_000} min)`,
    });
  }
  return {
    rulesFile: c.FRAUD_RULES_FILE,
    rules,
    historyRetentionMs: c.FRAUD_HISTORY_RETENTION,
    retentionIntervalMs: c.RETENTION_INTERVAL,
  };
}
