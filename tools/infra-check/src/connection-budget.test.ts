import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCompose, readComposeText, readEnvExample } from './compose/compose-file.js';
import type { K8sObject } from './k8s/base-manifests.js';
import {
  budgetProblems,
  composeBudget,
  HEADROOM,
  kubernetesBudget,
  PRODUCTION_MAX_CONNECTIONS,
  roleConnectionLimits,
  SUPERUSER_RESERVED,
} from './postgres/connection-budget.js';
import type { ServiceBudget } from './postgres/connection-budget.js';
import { repoPath } from './repo-paths.js';
import { renderOverlays } from './testing/render-overlay.js';

// The PostgreSQL sessions the services may hold, recomputed from the rendered manifests
// and the compose file, against the roles' CONNECTION LIMITs and max_connections.

let kubernetes: ServiceBudget[];
let roleLimits: Record<string, number>;

beforeAll(async () => {
  const rendered = await renderOverlays(['production']);
  kubernetes = kubernetesBudget(rendered.overlays.get('production') as K8sObject[]);
  roleLimits = roleConnectionLimits(await readFile(repoPath('infra/postgres/init/10-notify.sh'), 'utf8'));
});

describe('the connection budget in Kubernetes', () => {
  it('fits: every role covers its replicas at the maximum count plus a rolling-update surge, and all of them fit max_connections', () => {
    expect(budgetProblems(kubernetes, roleLimits, PRODUCTION_MAX_CONNECTIONS)).toEqual([]);
    // The roles' limits, not only what the services use today, fit the server.
    const limits = Object.values(roleLimits).reduce((n, l) => n + l, 0);
    expect(limits).toBeLessThanOrEqual(PRODUCTION_MAX_CONNECTIONS - SUPERUSER_RESERVED - HEADROOM);
  });

  it("fits PostgreSQL's default 100 connections at the minimum replica counts", () => {
    expect(kubernetes.reduce((n, b) => n + b.atMin, 0)).toBeLessThanOrEqual(100 - SUPERUSER_RESERVED);
  });

  it('counts every replica: the pool, the health connection and the API listeners, per replica', () => {
    const api = kubernetes.find((b) => b.name === 'order-api');
    expect(api).toMatchObject({
      poolMax: 10,
      perReplica: 13,
      minReplicas: 2,
      maxReplicas: 10,
      surge: 1,
      atMax: 143,
    });
    const email = kubernetes.find((b) => b.name === 'email');
    expect(email).toMatchObject({ poolMax: 6, perReplica: 7, minReplicas: 1, maxReplicas: 10, atMax: 77 });
  });

  it('fails, saying why, when more replicas or a bigger pool would exceed a role or the server', () => {
    const grown = kubernetes.map((b) =>
      b.name === 'email' ? { ...b, maxReplicas: 30, atMax: b.perReplica * 31 } : b,
    );
    const problems = budgetProblems(grown, roleLimits, PRODUCTION_MAX_CONNECTIONS);
    expect(problems).toContain("email: 31 replicas x 7 sessions = 217 > role email's CONNECTION LIMIT 77");
    expect(problems.some((p) => /sessions at the maximum replica counts > 577/.test(p))).toBe(true);
    expect(budgetProblems(kubernetes, roleLimits, 300)).toEqual([
      expect.stringMatching(/^528 sessions at the maximum replica counts > 277/),
    ]);
  });
});

describe('the connection budget in compose', () => {
  it("fits the compose PostgreSQL's max_connections and every role's limit", async () => {
    const compose = loadCompose(await readComposeText(), await readEnvExample());
    const command = (compose.services.postgres?.command ?? []) as string[];
    const setting = command.find((c) => c.startsWith('max_connections='));
    expect(setting, 'compose sets max_connections').toBeDefined();
    const environmentOf = (name: string) =>
      Object.fromEntries(
        Object.entries(compose.services[name]?.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]),
      );
    const budget = composeBudget(environmentOf);
    expect(budgetProblems(budget, roleLimits, Number(setting?.split('=')[1]))).toEqual([]);
  });
});
