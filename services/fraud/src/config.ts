import { loadConfig, str } from '@notify/service-kit';
import { DEFAULT_RULES_FILE, loadRules } from './fraud-rules.js';
import type { FraudRules } from './fraud-rules.js';

export interface FraudConfig {
  readonly rulesFile: string;
  readonly rules: FraudRules;
}

/** The fraud service's own variables. An invalid rules file stops the start, naming each bad field. */
export function loadFraudConfig(env: NodeJS.ProcessEnv): FraudConfig {
  const { FRAUD_RULES_FILE } = loadConfig(
    {
      FRAUD_RULES_FILE: str({
        default: DEFAULT_RULES_FILE,
        desc: 'JSON rules file (weights, thresholds, windows, lists); defaults to the shipped rules/default.json',
      }),
    },
    env,
  );
  return { rulesFile: FRAUD_RULES_FILE, rules: loadRules(FRAUD_RULES_FILE) };
}
