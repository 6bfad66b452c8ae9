import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';

// The deployable units and the facts every deployment file repeats about them. The
// compose file, the Kubernetes manifests, the PostgreSQL init script and the broker
// users are generated from or checked against this table, so a port or a schema is
// spelled once for all of infra/.

export type ServiceName = 'order-api' | Channel;

export interface DeployedService {
  readonly name: ServiceName;
  /** npm workspace name, what `turbo prune` takes. */
  readonly package: string;
  /** Workspace folder relative to the repository root. */
  readonly dir: string;
  readonly port: number;
  /** PostgreSQL schema (and role) of the service. */
  readonly schema: string;
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

const CHANNEL_PORTS: Record<Channel, number> = {
  email: 3001,
  whatsapp: 3002,
  logistic: 3003,
  payment: 3004,
  fraud: 3005,
};

const CHANNEL_REQUIREMENTS: Record<Channel, Pick<DeployedService, 'requiredInProduction' | 'secrets'>> = {
  email: { requiredInProduction: ['SMTP_URL', 'MAIL_FROM'], secrets: ['SMTP_URL'] },
  whatsapp: {
    requiredInProduction: [
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_WHATSAPP_FROM',
      'TWILIO_CONTENT_SID',
      'WHATSAPP_STATUS_CALLBACK_URL',
    ],
    secrets: ['TWILIO_AUTH_TOKEN'],
  },
  logistic: { requiredInProduction: [], secrets: [] },
  // The simulated gateway is the only one and the default; production must opt in to it.
  payment: { requiredInProduction: ['PAYMENT_ALLOW_SIMULATOR'], secrets: [] },
  fraud: { requiredInProduction: [], secrets: [] },
};

export const SERVICES: readonly DeployedService[] = [
  {
    name: 'order-api',
    package: '@notify/order-api',
    dir: 'services/order-api',
    port: 3000,
    schema: 'order_api',
    kind: 'api',
    // Without keys the API would be open; in production it refuses to start (ALLOW_ANONYMOUS opts out).
    requiredInProduction: ['API_KEYS'],
    secrets: ['API_KEYS'],
  },
  ...CHANNELS.map((channel): DeployedService => ({
    name: channel,
    package: `@notify/${channel}`,
    dir: `services/${channel}`,
    port: CHANNEL_PORTS[channel],
    schema: channel,
    kind: 'consumer',
    ...CHANNEL_REQUIREMENTS[channel],
  })),
];

export function service(name: ServiceName): DeployedService {
  const found = SERVICES.find((s) => s.name === name);
  if (!found) throw new Error(`unknown service ${name}`);
  return found;
}

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
