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

/**
 * The container port answering /healthz, /readyz and /metrics: the API's operations
 * listener (`ops`, OPS_PORT, kept out of its Service), a consumer's one port otherwise.
 */
export const opsPortName = (s: DeployedService) => (s.opsPort === s.port ? 'http' : 'ops');

function containerPorts(s: DeployedService) {
  return [
    { name: 'http', containerPort: s.port, protocol: 'TCP' },
    ...(s.opsPort === s.port ? [] : [{ name: 'ops', containerPort: s.opsPort, protocol: 'TCP' }]),
  ];
}

/** A container of the restricted Pod Security Standard, with a read-only root filesystem. */
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
} as const;

/** A pod that runs as a non-root user under the default seccomp profile. */
export function restrictedPod(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  } as const;
}

function deployment(s: DeployedService): K8sObject {
  const probe = (path: string, extra: Record<string, number>) => ({
    httpGet: { path, port: opsPortName(s) },
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
            'prometheus.io/port': String(s.opsPort),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          securityContext: restrictedPod(NODE_UID),
          containers: [
            {
              name: s.name,
              image: `notify/${s.name}`,
              imagePullPolicy: 'IfNotPresent',
              ports: containerPorts(s),
              envFrom: [{ configMapRef: { name: configMapName(s) } }, { secretRef: { name: secretName(s) } }],
              resources: RESOURCES[s.kind],
              // Migrations run before the port opens; give them time before liveness counts.
              startupProbe: probe('/healthz', { periodSeconds: 2, failureThreshold: 60 }),
              livenessProbe: probe('/healthz', { periodSeconds: 10, failureThreshold: 3 }),
              readinessProbe: probe('/readyz', { periodSeconds: 5, failureThreshold: 2 }),
              ...(s.kind === 'api'
                ? { lifecycle: { preStop: { exec: { command: ['sleep', String(PRE_STOP_SECONDS)] } } } }
                : {}),
              securityContext: RESTRICTED_CONTAINER,
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

/**
 * Work pool per replica in Kubernetes (DATABASE_POOL_MAX), smaller than the local
 * defaults: many replicas share one PostgreSQL (docs/deployment.md, connection budget).
 */
export const KUBERNETES_POOL_MAX = { api: 10, consumer: 6 } as const;

/** Settings every deployment shares; service-specific ones come from an overlay's config files. */
export function baseConfig(s: DeployedService): Record<string, string> {
  return {
    NODE_ENV: 'production',
    HOST: '0.0.0.0',
    PORT: String(s.port),
    // Probes come from the kubelet and scrapes from the monitoring namespace, so the
    // operations listener binds every interface; the NetworkPolicies decide who gets in.
    ...(s.opsPort === s.port ? {} : { OPS_HOST: '0.0.0.0', OPS_PORT: String(s.opsPort) }),
    LOG_LEVEL: 'info',
    DATABASE_SCHEMA: s.schema,
    DATABASE_POOL_MAX: String(KUBERNETES_POOL_MAX[s.kind]),
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
    resources: [
      'keda-trigger-authentication.yaml',
      'network-policies.yaml',
      'redis.yaml',
      ...SERVICES.map((s) => `${s.name}.yaml`),
    ],
    configMapGenerator: SERVICES.map((s) => ({
      name: configMapName(s),
      literals: Object.entries(baseConfig(s)).map(([k, v]) => `${k}=${v}`),
    })),
  };
}

/** The namespace Prometheus runs in; it may scrape every operations port. */
export const MONITORING_NAMESPACE = 'monitoring';

type PolicyPort = { readonly port: number; readonly protocol: 'TCP' | 'UDP' };
const tcp = (...ports: number[]): PolicyPort[] => ports.map((port) => ({ port, protocol: 'TCP' }));

/**
 * What each workload may reach, by port: the broker and PostgreSQL may live outside the
 * cluster (managed services), so egress is limited by port rather than by address.
 */
export const EGRESS = {
  dns: [{ port: 53, protocol: 'UDP' }, ...tcp(53)] as PolicyPort[],
  amqp: tcp(5672, 5671),
  postgres: tcp(5432),
  redis: tcp(6379),
  /** OTLP to a collector, when tracing is switched on (gRPC and HTTP). */
  otlp: tcp(4317, 4318),
  /** The console's view of the broker (management API, plain and TLS). */
  brokerManagement: tcp(15672, 15671),
  smtp: tcp(25, 465, 587),
  https: tcp(443),
} as const;

/** The egress ports a service needs beyond DNS, the broker, PostgreSQL and OTLP. */
export function providerEgress(s: DeployedService): PolicyPort[] {
  if (s.kind === 'api') return [...EGRESS.redis, ...EGRESS.brokerManagement];
  if (s.name === 'email') return [...EGRESS.smtp];
  if (s.name === 'whatsapp') return [...EGRESS.https];
  return [];
}

const WORKLOADS = {
  matchLabels: { 'app.kubernetes.io/part-of': 'notify' },
  matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['api', 'consumer'] }],
};

const policyMeta = (name: string) => ({ name, labels: { 'app.kubernetes.io/part-of': 'notify' } });

/**
 * Default deny for the six workloads (not for anything else an overlay runs in the
 * namespace, such as the RabbitMQ cluster), then one policy per workload with what it needs:
 * the API's public port from anywhere (its Ingress or load balancer), WhatsApp's port from
 * anywhere too (Twilio's status callbacks), every operations port from the namespace (the
 * console reads them) and from the monitoring namespace; egress to DNS, the broker,
 * PostgreSQL, OTLP, and the service's own providers. The console also reads the consumers'
 * operations ports. Kubelet probes are not subject to NetworkPolicy.
 */
export function networkPolicies(): K8sObject[] {
  const deny: K8sObject = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: policyMeta('default-deny'),
    spec: { podSelector: WORKLOADS, policyTypes: ['Ingress', 'Egress'] },
  };
  const fromInside = [
    { podSelector: {} },
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': MONITORING_NAMESPACE } } },
  ];
  const consumers = SERVICES.filter((s) => s.kind === 'consumer');
  return [
    deny,
    ...SERVICES.map((s): K8sObject => {
      const publicPort = s.kind === 'api' || s.name === 'whatsapp';
      const ingress =
        s.opsPort === s.port
          ? [{ ...(publicPort ? {} : { from: fromInside }), ports: tcp(s.port) }]
          : [{ ports: tcp(s.port) }, { from: fromInside, ports: tcp(s.opsPort) }];
      const egress: Record<string, unknown>[] = [
        { ports: [...EGRESS.dns, ...EGRESS.amqp, ...EGRESS.postgres, ...EGRESS.otlp, ...providerEgress(s)] },
      ];
      if (s.kind === 'api') {
        egress.push({
          to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/part-of': 'notify' } } }],
          ports: tcp(...consumers.map((c) => c.opsPort)),
        });
      }
      return {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: policyMeta(s.name),
        spec: {
          podSelector: { matchLabels: selector(s) },
          policyTypes: ['Ingress', 'Egress'],
          ingress,
          egress,
        },
      };
    }),
  ];
}
