import { RESTRICTED_CONTAINER, restrictedPod } from './base-manifests.js';
import type { K8sObject } from './base-manifests.js';

// Redis for the order API's rate limit: counters every replica shares (REDIS_URL). They
// are short-lived and rebuilt by traffic, so nothing is persisted: one pod, no volume
// beyond its scratch space, memory capped with the keys nearest their expiry evicted first.

export const REDIS_NAME = 'redis';
export const REDIS_PORT = 6379;
/** Secret (made by an overlay from secrets/redis.env) holding REDIS_PASSWORD. */
export const REDIS_SECRET = 'redis-secrets';
/** The `redis` user of the official image. */
const REDIS_UID = 999;

const labels = {
  'app.kubernetes.io/name': REDIS_NAME,
  'app.kubernetes.io/component': 'rate-limit-store',
  'app.kubernetes.io/part-of': 'notify',
};
const selector = { 'app.kubernetes.io/name': REDIS_NAME, 'app.kubernetes.io/part-of': 'notify' };

export function redisManifests(): K8sObject[] {
  const password = { secretKeyRef: { name: REDIS_SECRET, key: 'REDIS_PASSWORD' } };
  const ping = { exec: { command: ['redis-cli', 'ping'] }, timeoutSeconds: 2 };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: REDIS_NAME, labels },
      spec: {
        serviceName: REDIS_NAME,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPod(REDIS_UID),
            containers: [
              {
                name: REDIS_NAME,
                image: 'redis:7.4-alpine',
                imagePullPolicy: 'IfNotPresent',
                // Kubernetes expands $(REDIS_PASSWORD) from the Secret; no snapshot, no AOF.
                args: [
                  '--requirepass',
                  '$(REDIS_PASSWORD)',
                  '--save',
                  '',
                  '--appendonly',
                  'no',
                  '--maxmemory',
                  '96mb',
                  '--maxmemory-policy',
                  'volatile-ttl',
                ],
                env: [
                  { name: 'REDIS_PASSWORD', valueFrom: password },
                  // redis-cli (the probes) authenticates with it.
                  { name: 'REDISCLI_AUTH', valueFrom: password },
                ],
                ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
                resources: {
                  requests: { cpu: '50m', memory: '64Mi' },
                  limits: { cpu: '250m', memory: '128Mi' },
                },
                livenessProbe: { ...ping, periodSeconds: 10, failureThreshold: 3 },
                readinessProbe: { ...ping, periodSeconds: 5, failureThreshold: 2 },
                securityContext: RESTRICTED_CONTAINER,
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
            volumes: [{ name: 'data', emptyDir: { sizeLimit: '64Mi' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: REDIS_NAME, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'redis', port: REDIS_PORT, targetPort: 'redis', protocol: 'TCP' }],
      },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: REDIS_NAME, labels: { 'app.kubernetes.io/part-of': 'notify' } },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        // Only the order API talks to it; it talks to nobody.
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'order-api' } } }],
            ports: [{ port: REDIS_PORT, protocol: 'TCP' }],
          },
        ],
        egress: [],
      },
    },
  ];
}
