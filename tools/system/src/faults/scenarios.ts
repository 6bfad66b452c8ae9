import { bindingRemoved } from './scenarios/binding-removed.js';
import { brokerStopStart } from './scenarios/broker-stop-start.js';
import { closeConnections } from './scenarios/close-connections.js';
import { clusterNodeKill } from './scenarios/cluster-node-kill.js';
import { databaseLongOutage } from './scenarios/database-long-outage.js';
import { databaseRestart } from './scenarios/database-restart.js';
import { deadLetterListings } from './scenarios/dead-letter-listings.js';
import { killServices } from './scenarios/kill-services.js';
import { poisonMessagesScenario } from './scenarios/poison-messages.js';
import { providerOutage } from './scenarios/provider-outage.js';
import { resourceAlarm } from './scenarios/resource-alarm.js';
import type { Scenario } from './scenarios/scenario.js';
import { slowProvider } from './scenarios/slow-provider.js';
import { soak } from './scenarios/soak.js';

export { check } from './scenarios/scenario.js';
export type {
  BrokerUnderTest,
  Check,
  Scenario,
  ScenarioContext,
  ScenarioOutcome,
} from './scenarios/scenario.js';

/** Every fault scenario, one file each under scenarios/, in the order of their ids. */
export const SCENARIOS: readonly Scenario[] = [
  brokerStopStart,
  closeConnections,
  killServices,
  databaseRestart,
  resourceAlarm,
  poisonMessagesScenario,
  slowProvider,
  clusterNodeKill,
  soak,
  databaseLongOutage,
  providerOutage,
  deadLetterListings,
  bindingRemoved,
];
