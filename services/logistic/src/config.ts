import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, str } from '@notify/service-kit';
import { DEFAULT_RULES_FILE, loadShippingRules, ShippingRulesError } from './shipping-rules.js';
import type { ShippingRules } from './shipping-rules.js';

export interface LogisticConfig {
  readonly rules: ShippingRules;
  /** Where the rules came from, for the start-up log. */
  readonly rulesFile: string;
}

/** The logistic service's own variables; the rule table is checked here, before anything connects. */
export function loadLogisticConfig(env: NodeJS.ProcessEnv): LogisticConfig {
  const vars = loadConfig(
    {
      LOGISTIC_RULES_FILE: str({
        default: '',
        desc: 'JSON rule table (carriers, zones, limits); default: config/shipping-rules.json of the service',
      }),
    },
    env,
  );
  const rulesFile = vars.LOGISTIC_RULES_FILE || fileURLToPath(DEFAULT_RULES_FILE);
  try {
    return { rules: loadShippingRules(rulesFile), rulesFile };
  } catch (err) {
    if (err instanceof ShippingRulesError) {
      throw new ConfigError({ LOGISTIC_RULES_FILE: `names an unusable rule table: ${err.message}` });
    }
    throw err;
  }
}
