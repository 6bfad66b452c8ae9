import type { K8sObject } from '../k8s/base-manifests.js';
import { SERVICES } from '../service-catalogue.js';
import type { DeployedService } from '../service-catalogue.js';

// The connection budget: how many PostgreSQL sessions the services may hold at once,
// against what the server and each role allow. docs/deployment.md shows the same
// arithmetic; the tests recompute it from the rendered manifests and compose file.

/** PostgreSQL's superuser_reserved_connections default. */
export const SUPERUSER_RESERVED = 3;
/** Sessions kept free for operators (psql), monitoring exporters and a release's migrations. */
export const HEADROOM = 20;
/** max_connections the production PostgreSQL is configured with (docs/deployment.md). */
export const PRODUCTION_MAX_CONNECTIONS = 600;

export interface ServiceBudget {
  readonly name: string;
  readonly schema: string;
  readonly poolMax: number;
  /** Work pool plus the sessions beyond it (health pool, LISTEN connections). */
  readonly perReplica: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Replicas a rolling update adds on top (maxSurge). */
  readonly surge: number;
  readonly atMin: number;
  /** At the maximum replica count during a rolling update. */
  readonly atMax: number;
}

/** The fields of a Deployment, HorizontalPodAutoscaler or ScaledObject this budget reads. */
interface Spec {
  template: { spec: { containers: [{ envFrom?: unknown }, ...unknown[]] } };
  strategy?: { rollingUpdate?: { maxSurge?: number | string } };
  minReplicas?: number;
  maxReplicas: number;
  minReplicaCount?: number;
  maxReplicaCount?: number;
}
type Obj = K8sObject & { spec: Spec; data?: Record<string, string> };

function find(objects: K8sObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o as Obj;
}

function budgetOf(
  s: DeployedService,
  poolMax: number,
  min: number,
  max: number,
  surge: number,
): ServiceBudget {
  const perReplica = poolMax + s.extraSessions;
  return {
    name: s.name,
    schema: s.schema,
    poolMax,
    perReplica,
    minReplicas: min,
    maxReplicas: max,
    surge,
    atMin: perReplica * min,
    atMax: perReplica * (max + surge),
  };
}

/** Each service's sessions from rendered Kubernetes objects (its ConfigMap, autoscaler, rollout). */
export function kubernetesBudget(objects: K8sObject[]): ServiceBudget[] {
  return SERVICES.map((s) => {
    const deployment = find(objects, 'Deployment', s.name);
    const configName = (
      deployment.spec.template.spec.containers[0].envFrom as { configMapRef?: { name: string } }[]
    )
      .map((r) => r.configMapRef?.name)
      .find(Boolean) as string;
    const configured = find(objects, 'ConfigMap', configName).data?.DATABASE_POOL_MAX;
    const poolMax = configured === undefined ? s.poolMax : Number(configured);
    const surge = Number(deployment.spec.strategy?.rollingUpdate?.maxSurge ?? 1);
    if (s.kind === 'api') {
      const hpa = find(objects, 'HorizontalPodAutoscaler', s.name);
      return budgetOf(s, poolMax, hpa.spec.minReplicas ?? 1, hpa.spec.maxReplicas, surge);
    }
    const scaler = find(objects, 'ScaledObject', s.name);
    return budgetOf(s, poolMax, scaler.spec.minReplicaCount ?? 0, scaler.spec.maxReplicaCount ?? 100, surge);
  });
}

/** Each service's sessions in the compose stack: one replica, recreated (not surged) on change. */
export function composeBudget(environmentOf: (service: string) => Record<string, string>): ServiceBudget[] {
  return SERVICES.map((s) => {
    const configured = environmentOf(s.name).DATABASE_POOL_MAX;
    return budgetOf(s, configured === undefined ? s.poolMax : Number(configured), 1, 1, 0);
  });
}

/** The CONNECTION LIMIT of each service's role, from infra/postgres/init/10-notify.sh. */
export function roleConnectionLimits(initScript: string): Record<string, number> {
  const list = /^CONNECTION_LIMITS="([^"]*)"/m.exec(initScript)?.[1];
  if (list === undefined) throw new Error('10-notify.sh sets no CONNECTION_LIMITS');
  return Object.fromEntries(
    list
      .split(/\s+/)
      .filter(Boolean)
      .map((entry) => {
        const [schema, limit] = entry.split('=');
        return [schema, Number(limit)];
      }),
  );
}

/**
 * What is wrong with a budget, in words: a role whose limit its replicas can exceed (it
 * would refuse their connections while scaling out), and sessions that add up past the
 * server's max_connections less the superuser reserve and the headroom. Empty when it fits.
 */
export function budgetProblems(
  budget: readonly ServiceBudget[],
  roleLimits: Readonly<Record<string, number>>,
  maxConnections: number,
): string[] {
  const problems: string[] = [];
  for (const b of budget) {
    const limit = roleLimits[b.schema];
    if (limit === undefined) problems.push(`role ${b.schema} has no CONNECTION LIMIT`);
    else if (b.atMax > limit)
      problems.push(
        `${b.name}: ${b.maxReplicas + b.surge} replicas x ${b.perReplica} sessions = ${b.atMax} > role ${b.schema}'s CONNECTION LIMIT ${limit}`,
      );
  }
  const usable = maxConnections - SUPERUSER_RESERVED - HEADROOM;
  const total = budget.reduce((n, b) => n + b.atMax, 0);
  if (total > usable)
    problems.push(
      `${total} sessions at the maximum replica counts > ${usable} (max_connections ${maxConnections} - ${SUPERUSER_RESERVED} reserved - ${HEADROOM} headroom)`,
    );
  return problems;
}
