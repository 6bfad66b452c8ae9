import { channelConsumers } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { channelOwners } from '../rabbitmq/broker-users.js';
import { VHOST } from '../rabbitmq/definitions.js';
import { SERVICES, SHUTDOWN_TIMEOUT_MS } from '../service-catalogue.js';
import type { DeployedService } from '../service-catalogue.js';

// The Kubernetes base, one file per service, generated from the service catalogue and
// the contracts' topology (the KEDA trigger names the service's queue).

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; namespace?: string };
};

/** UID and GID of the `node` user in the official Node.js images. */
export const NODE_UID = 1000;

/**
 * Seconds Kubernetes waits after SIGTERM: the service drains for up to
 * SHUTDOWN_TIMEOUT_MS, runMain forces an exit 5 s after that, and the API first waits
 * PRE_STOP_SECONDS for endpoints to drop it.
 */
export const PRE_STOP_SECONDS = 5;
export const TERMINATION_GRACE_SECONDS = PRE_STOP_SECONDS + SHUTDOWN_TIMEOUT_MS / 1000 + 5 + 10;

export const QUEUE_DEPTH_AUTH = 'rabbitmq-queue-depth';
/** Secret (created by an overlay, without a name hash) holding KEDA's AMQP URL under `host`. */
export const QUEUE_DEPTH_SECRET = 'keda-rabbitmq';

export const configMapName = (s: DeployedService) => `${s.name}-config`;
export const secretName = (s: DeployedService) => `${s.name}-secrets`;

function labels(s: DeployedService): Record<string, string> {
  return {
    'app.kubernetes.io/name': s.name,
    'app.kubernetes.io/component': s.kind === 'api' ? 'api' : 'consumer',
    'app.kubernetes.io/part-of': 'notify',
  };
}

function selector(s: DeployedService): Record<string, string> {
  return { 'app.kubernetes.io/name': s.name, 'app.kubernetes.io/part-of': 'notify' };
}

const RESOURCES = {
  api: { requests: { cpu: '250m', memory: '192Mi' }, limits: { cpu: '1', memory: '384Mi' } },
  consumer: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
} as const;

function deployment(s: DeployedService): K8sObject {
  const probe = (path: string, extra: Record<string, number>) => ({
    httpGet: { path, port: 'http' },
    timeoutSeconds: 2,
    ...extra,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: s.name, labels: labels(s) },
    spec: {
      // No replicas: the HPA (API) or KEDA (consumers) owns the count.
      revisionHistoryLimit: 5,
      selector: { matchLabels: selector(s) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: labels(s),
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(s.port),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: NODE_UID,
            runAsGroup: NODE_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: s.name,
              image: `notify/${s.name}`,
              imagePullPolicy: 'IfNotPresent',
              ports: [{ name: 'http', containerPort: s.port, protocol: 'TCP' }],
              envFrom: [{ configMapRef: { name: configMapName(s) } }, { secretRef: { name: secretName(s) } }],
              resources: RESOURCES[s.kind],
              // Migrations run before the port opens; give them time before liveness counts.
              startupProbe: probe('/healthz', { periodSeconds: 2, failureThreshold: 60 }),
              livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
              readinessProbe: probe('/readyz', { periodSeconds: 5, failureThreshold: 2 }),
              ...(s.kind === 'api'
                ? { lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } } }
                : {}),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

function service(s: DeployedService): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, labels: labels(s) },
    spec: {
      type: 'ClusterIP',
      selector: selector(s),
      ports: [{ name: 'http', port: s.port, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

function disruptionBudget(s: DeployedService): K8sObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: s.name, labels: labels(s) },
    // maxUnavailable rather than minAvailable: a single replica can still be drained.
    spec: { maxUnavailable: 1, selector: { matchLabels: selector(s) } },
  };
}

function apiAutoscaler(s: DeployedService): K8sObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: s.name, labels: labels(s) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

/** Messages waiting per replica before KEDA adds one. */
export const MESSAGES_PER_REPLICA = 100;

function queueScaler(s: DeployedService): K8sObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: s.name, labels: labels(s) },
    spec: {
      scaleTargetRef: { name: s.name },
      minReplicaCount: 1,
      maxReplicaCount: 10,
      pollingInterval: 15,
      cooldownPeriod: 300,
      triggers: [
        {
          type: 'rabbitmq',
          metadata: {
            protocol: 'amqp',
            mode: 'QueueLength',
            value: String(MESSAGES_PER_REPLICA),
            queueName: channelConsumers[s.name as Channel].queue.name,
            vhostName: VHOST,
          },
          authenticationRef: { name: QUEUE_DEPTH_AUTH },
        },
      ],
    },
  };
}

export function queueDepthAuthentication(): K8sObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name: QUEUE_DEPTH_AUTH, labels: { 'app.kubernetes.io/part-of': 'notify' } },
    spec: { secretTargetRef: [{ parameter: 'host', name: QUEUE_DEPTH_SECRET, key: 'host' }] },
  };
}

export function serviceManifests(s: DeployedService): K8sObject[] {
  return [
    deployment(s),
    service(s),
    disruptionBudget(s),
    s.kind === 'api' ? apiAutoscaler(s) : queueScaler(s),
  ];
}

/** Settings every deployment shares; service-specific ones come from an overlay's config files. */
export function baseConfig(s: DeployedService): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '0.0.0.0',
    PORT: String(s.port),
    LOG_LEVEL: 'info',
    DATABASE_SCHEMA: s.schema,
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    // The broker's topology is created by the definitions import; the services' users may
    // not declare anything, so they only check that it is there (docs/deployment.md).
    TOPOLOGY: 'verify',
    ...(s.kind === 'api' ? { CHANNEL_OWNERS: channelOwners() } : {}),
  };
}

export function baseKustomization(): Record<string, unknown> {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: ['keda-trigger-authentication.yaml', ...SERVICES.map((s) => `${s.name}.yaml`)],
    configMapGenerator: SERVICES.map((s) => ({
      name: configMapName(s),
      literals: Object.entries(baseConfig(s)).map(([k, v]) => `${k}=${v}`),
    })),
  };
}
