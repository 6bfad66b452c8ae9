import { SERVICE_LIST } from '@notify/contracts';
import type { ServiceEntry, ServiceName } from '@notify/contracts';

// The deployable units with what only a deployment needs to know about them. Name,
// package, folder, port and schema come from the catalogue in
// packages/contracts/src/service-catalogue.ts; this file adds the variables, secrets
// and scaling kind. The compose file, the Kubernetes manifests, the PostgreSQL init
// script and the broker users are generated from or checked against this table.

export type { ServiceName };

export interface DeployedService extends ServiceEntry {
  /** The consumer services scale on their queue's depth; the API on CPU. */
  readonly kind: 'api' | 'consumer';
  /**
   * Variables the service refuses to start without when NODE_ENV=production, beyond the
   * ones every service takes (COMMON_VARIABLES). The image check proves this list both
   * ways against the built service: missing one stops it, having all of them starts it.
   */
  readonly requiredInProduction: readonly string[];
  /** Variables that hold secrets: they go to a Secret (Kubernetes) and to `.env` (compose). */
  readonly secrets: readonly string[];
}

/** Variables every service reads; AMQP_URL and DATABASE_URL carry credentials. */
export const COMMON_VARIABLES = [
  'NODE_ENV',
  'AMQP_URL',
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'SHUTDOWN_TIMEOUT_MS',
] as const;

export const COMMON_SECRETS = ['AMQP_URL', 'DATABASE_URL'] as const;

/** How long a service may drain on SIGTERM (the services' default SHUTDOWN_TIMEOUT_MS). */
export const SHUTDOWN_TIMEOUT_MS = 25_000;

type DeploymentFacts = Pick<DeployedService, 'kind' | 'requiredInProduction' | 'secrets'>;

const DEPLOYMENT: Record<ServiceName, DeploymentFacts> = {
  // Without keys the API would be open; in production it refuses to start (ALLOW_ANONYMOUS opts out).
  'order-api': {
    kind: 'api',
    requiredInProduction: ['API_KEYS', 'UNSUBSCRIBE_SECRET'],
    // REDIS_URL carries Redis's password; without it each replica counts its own rate limit.
    secrets: ['API_KEYS', 'UNSUBSCRIBE_SECRET', 'REDIS_URL'],
  },
  email: {
    kind: 'consumer',
    requiredInProduction: ['SMTP_URL', 'MAIL_FROM', 'UNSUBSCRIBE_URL', 'UNSUBSCRIBE_SECRET'],
    secrets: ['SMTP_URL', 'UNSUBSCRIBE_SECRET'],
  },
  whatsapp: {
    kind: 'consumer',
    requiredInProduction: [
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_WHATSAPP_FROM',
      'TWILIO_CONTENT_SID',
      'WHATSAPP_STATUS_CALLBACK_URL',
    ],
    secrets: ['TWILIO_AUTH_TOKEN'],
  },
  logistic: { kind: 'consumer', requiredInProduction: [], secrets: [] },
  // The simulated gateway is the only one and the default; production must opt in to it.
  payment: { kind: 'consumer', requiredInProduction: ['PAYMENT_ALLOW_SIMULATOR'], secrets: [] },
  fraud: { kind: 'consumer', requiredInProduction: [], secrets: [] },
};

export const SERVICES: readonly DeployedService[] = SERVICE_LIST.map((s) => ({
  ...s,
  ...DEPLOYMENT[s.name],
}));

/** The development stand-ins compose runs next to the services; never deployed to a cluster. */
export const STAND_INS = [
  { name: 'mail-catcher', package: '@notify/mail-catcher', dir: 'tools/mail-catcher', ports: [1025, 8025] },
  {
    name: 'whatsapp-sandbox',
    package: '@notify/whatsapp-sandbox',
    dir: 'tools/whatsapp-sandbox',
    ports: [8026],
  },
] as const;
