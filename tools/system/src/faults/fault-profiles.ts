import type { ServiceEnv } from '../stack.js';

export const SCENARIO_IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface FaultProfile {
  readonly name: 'short' | 'full';
  readonly scenarios: readonly ScenarioId[];
  /** Orders per second while a scenario's load runs. */
  readonly rate: number;
  /** Orders per scenario (scenario 7 and the soak set their own). */
  readonly orders: number;
  /** How long the broker application stays stopped (scenario 1). */
  readonly brokerDownMs: number;
  /** How long PostgreSQL stays down (scenario 4). */
  readonly databaseDownMs: number;
  /** How long a resource alarm stays raised (scenario 5). */
  readonly alarmMs: number;
  readonly alarms: readonly ('memory' | 'disk')[];
  /** SMTP stand-in answer delay and Twilio 429s (scenario 7). */
  readonly slowSmtpDelayMs: number;
  readonly twilio429s: number;
  readonly slowOrders: number;
  /** How long the killed cluster node stays down (scenario 8). */
  readonly nodeDownMs: number;
  /**
   * How much longer than the largest retry budget of the services it hits an outage of
   * scenarios 10 and 11 lasts (the budget follows from RETRY_DELAYS_MS and
   * RETRY_MAX_ATTEMPTS, so the short profile's shortened delays shorten these rows too).
   */
  readonly beyondBudgetMs: number;
  /** How long the consumers are frozen so that every queue holds a backlog (scenario 10). */
  readonly backlogMs: number;
  /** How many times the dead letters are listed while orders flow (scenario 12). */
  readonly deadLetterListings: number;
  readonly soakMs: number;
  readonly soakRate: number;
  /** How long every accepted order may take to reach all five effects after the load. */
  readonly settleTimeoutMs: number;
  /**
   * Service settings. The short profile shrinks retry delays and SMTP timeouts (and with
   * them the send lease, which must outlast them) so that the recovery a crash forces fits
   * in minutes; the full profile runs the services with their production defaults.
   */
  readonly env: Readonly<Record<string, string>>;
  readonly serviceEnv: ServiceEnv;
}

const common = {
  // One client (the suite) sends every order; the per-client limit is for the internet.
  RATE_LIMIT_MAX: '0',
};

export const PROFILES: Record<FaultProfile['name'], FaultProfile> = {
  short: {
    name: 'short',
    scenarios: [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13],
    rate: 8,
    orders: 48,
    brokerDownMs: 4_000,
    databaseDownMs: 4_000,
    alarmMs: 4_000,
    alarms: ['memory'],
    slowSmtpDelayMs: 2_500,
    twilio429s: 60,
    slowOrders: 48,
    nodeDownMs: 6_000,
    beyondBudgetMs: 10_000,
    backlogMs: 3_000,
    deadLetterListings: 100,
    soakMs: 0,
    soakRate: 0,
    settleTimeoutMs: 180_000,
    env: {
      ...common,
      RETRY_DELAYS_MS: '1000,2000,4000,8000,16000',
      // Shorter than production, not short: on a loaded machine a starved event loop
      // fires a timer before it reads the reply waiting in the socket, and an SMTP
      // timeout after DATA is a resend (the documented window).
      SMTP_CONNECTION_TIMEOUT_MS: '5000',
      SMTP_GREETING_TIMEOUT_MS: '5000',
      SMTP_SOCKET_TIMEOUT_MS: '15000',
      SMTP_SEND_LEASE_MS: '45000',
    },
    serviceEnv: {
      // Enough attempts for a redelivery to outlive a 45 s send claim abandoned by a crash
      // mid-send: attempts at 0, 1, 3, 7, 15, 31, 47, 63 s, so the last one comes after the
      // lease even with every delay at the jitter's 20 % short (50 s). No more than that:
      // their budget (63 s) is the longest, and rows 10 and 11 hold their outage past it.
      // The others keep the default six (31 s).
      email: { RETRY_MAX_ATTEMPTS: '8' },
      // The WhatsApp send claim's lease must exceed twice the Twilio request timeout
      // (15 s) plus 5 s.
      whatsapp: { RETRY_MAX_ATTEMPTS: '8', WHATSAPP_SEND_LEASE_MS: '45000' },
    },
  },
  full: {
    name: 'full',
    scenarios: [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 9],
    rate: 15,
    orders: 600,
    brokerDownMs: 20_000,
    databaseDownMs: 15_000,
    alarmMs: 20_000,
    alarms: ['memory', 'disk'],
    slowSmtpDelayMs: 4_000,
    twilio429s: 400,
    slowOrders: 200,
    nodeDownMs: 30_000,
    beyondBudgetMs: 60_000,
    backlogMs: 10_000,
    deadLetterListings: 100,
    soakMs: 10 * 60_000,
    soakRate: 15,
    settleTimeoutMs: 20 * 60_000,
    env: { ...common },
    serviceEnv: {},
  },
};
