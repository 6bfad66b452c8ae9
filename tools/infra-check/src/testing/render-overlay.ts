import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { K8sObject } from '../k8s/base-manifests.js';
import { kustomizeBuild } from '../k8s/kubectl-kustomize.js';
import { brokerGrants } from '../rabbitmq/broker-users.js';
import { buildDefinitions } from '../rabbitmq/definitions.js';
import { repoPath } from '../repo-paths.js';
import type { DeployedService } from '../service-catalogue.js';

// Renders infra/k8s overlays as an operator would apply them: the secret files made from
// the committed examples, the broker definitions from the generator.

export interface RenderedOverlays {
  readonly overlays: ReadonlyMap<string, K8sObject[]>;
  /** The environment Kubernetes gives a service's container: its ConfigMap and Secret. */
  environmentOf(overlay: string, service: DeployedService): Record<string, string>;
}

export async function renderOverlays(names: readonly string[]): Promise<RenderedOverlays> {
  const work = await mkdtemp(path.join(tmpdir(), 'notify-k8s-'));
  const overlays = new Map<string, K8sObject[]>();
  try {
    await cp(repoPath('infra/k8s'), work, { recursive: true });
    const secrets = path.join(work, 'overlays/production/secrets');
    for (const f of await readdir(secrets)) {
      if (f.endsWith('.example'))
        await cp(path.join(secrets, f), path.join(secrets, f.replace(/\.example$/, '')));
    }
    const definitions = buildDefinitions({
      passwords: Object.fromEntries(brokerGrants().map((g) => [g.user, randomBytes(12).toString('hex')])),
    });
    await writeFile(
      path.join(work, 'overlays/rabbitmq-cluster/secrets/definitions.json'),
      JSON.stringify(definitions),
    );
    for (const name of names) overlays.set(name, await kustomizeBuild(path.join(work, 'overlays', name)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  return {
    overlays,
    environmentOf(overlay, service) {
      const objects = overlays.get(overlay) ?? [];
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === service.name) as
        | { spec: { template: { spec: { containers: { envFrom: Record<string, { name: string }>[] }[] } } } }
        | undefined;
      if (!deployment) throw new Error(`${overlay} has no Deployment ${service.name}`);
      const env: Record<string, string> = {};
      for (const ref of deployment.spec.template.spec.containers[0]?.envFrom ?? []) {
        const [kind, name] = ref.configMapRef
          ? ['ConfigMap', ref.configMapRef.name]
          : ['Secret', (ref.secretRef as { name: string }).name];
        const source = objects.find((o) => o.kind === kind && o.metadata.name === name) as
          { data?: Record<string, string> } | undefined;
        if (!source) throw new Error(`${service.name}: no ${kind} ${name}`);
        for (const [k, v] of Object.entries(source.data ?? {}))
          env[k] = kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v;
      }
      return env;
    },
  };
}
