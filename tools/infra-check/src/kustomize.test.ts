import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { channelConsumers } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { K8sObject } from './k8s/base-manifests.js';
import { KubectlMissingError, KustomizeError, kustomizeBuild } from './k8s/kubectl-kustomize.js';
import { brokerGrants, channelOwners } from './rabbitmq/broker-users.js';
import { VHOST } from './rabbitmq/definitions.js';
import { repoPath } from './repo-paths.js';
import { COMMON_SECRETS, SERVICES } from './service-catalogue.js';
import type { DeployedService } from './service-catalogue.js';
import { renderOverlays } from './testing/render-overlay.js';

// Renders the overlays with `kubectl kustomize` the way an operator applies them (secrets
// made from the committed examples, the broker definitions from the generator) and checks
// what Kubernetes gets.
const rendered = new Map<string, K8sObject[]>();

beforeAll(async () => {
  const r = await renderOverlays(['production', 'rabbitmq-cluster']);
  for (const [name, objects] of r.overlays) rendered.set(name, objects);
});

type Obj = K8sObject & { spec?: any; data?: Record<string, string> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are checked field by field

function find(objects: K8sObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o as Obj;
}

interface IngressRule {
  from?: unknown[];
  to?: unknown[];
  ports: { port: number; protocol: string }[];
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values: string[] }[];
}

/** The NetworkPolicies whose pod selector picks pods with these labels (In and NotIn only). */
function policiesSelecting(objects: K8sObject[], labels: Record<string, string>): Obj[] {
  const matches = (sel: LabelSelector) =>
    Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
    (sel.matchExpressions ?? []).every((e) => {
      const value = labels[e.key];
      if (e.operator === 'In') return value !== undefined && e.values.includes(value);
      if (e.operator === 'NotIn') return value === undefined || !e.values.includes(value);
      throw new Error(`selector operator ${e.operator} not checked here`);
    });
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map((o) => o as Obj)
    .filter((p) => matches(p.spec.podSelector as LabelSelector));
}

const decode = (o: Obj, key: string) => Buffer.from(o.data?.[key] ?? '', 'base64').toString('utf8');

describe('rendering with kubectl kustomize', () => {
  it('says in one line that kubectl is missing and how to install it', async () => {
    const missing = path.join(tmpdir(), `no-kubectl-${process.pid}`, 'kubectl');
    const err = await kustomizeBuild(repoPath('infra/k8s/base'), { kubectl: missing }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KubectlMissingError);
    const { message, stack } = err as Error;
    expect(message).toContain(`${missing} not found`);
    expect(message).toMatch(/kubectl package/);
    expect(message).toMatch(/gcloud components install kubectl/);
    expect(`${stack}`.split('\n')).toEqual([`KubectlMissingError: ${message}`]);
  });

  it('fails, naming the file, when an overlay needs a secret file the operator has not made', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'notify-kz-'));
    try {
      await cp(repoPath('infra/k8s'), dir, { recursive: true });
      const err = await kustomizeBuild(path.join(dir, 'overlays/production')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KustomizeError);
      expect((err as Error).message).toMatch(/secrets\/[a-z-]+\.env/);
      expect((err as Error).message).toMatch(/no such file or directory/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each(['production', 'rabbitmq-cluster'])('the %s overlay', (overlay) => {
  const objects = () => rendered.get(overlay) as K8sObject[];

  it('puts everything namespaced into the notify namespace', () => {
    for (const o of objects()) {
      if (o.kind === 'Namespace') expect(o.metadata.name).toBe('notify');
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('notify');
    }
  });

  it('deploys exactly the six services', () => {
    const names = objects()
      .filter((o) => o.kind === 'Deployment')
      .map((o) => o.metadata.name);
    expect(names.sort()).toEqual(SERVICES.map((s) => s.name).sort());
  });

  describe.each(SERVICES)('$name', (s: DeployedService) => {
    const deployment = () => find(objects(), 'Deployment', s.name);
    const pod = () => deployment().spec.template.spec;
    const container = () => {
      const cs = pod().containers;
      expect(cs).toHaveLength(1);
      return cs[0];
    };
    const envSources = () => {
      const refs = container().envFrom as { configMapRef?: { name: string }; secretRef?: { name: string } }[];
      const cm = refs.find((r) => r.configMapRef)?.configMapRef?.name as string;
      const secret = refs.find((r) => r.secretRef)?.secretRef?.name as string;
      return { config: find(objects(), 'ConfigMap', cm), secret: find(objects(), 'Secret', secret) };
    };

    it('probes liveness on /healthz and readiness on /readyz, and is scraped, on its operations port', () => {
      const c = container();
      const apart = s.opsPort !== s.port;
      expect(c.ports).toEqual([
        { name: 'http', containerPort: s.port, protocol: 'TCP' },
        ...(apart ? [{ name: 'ops', containerPort: s.opsPort, protocol: 'TCP' }] : []),
      ]);
      const ops = apart ? 'ops' : 'http';
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: ops });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: ops });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: ops });
      expect(deployment().spec.template.metadata.annotations['prometheus.io/port']).toBe(String(s.opsPort));
      if (apart) {
        // Bound to every interface for the kubelet and the scraper; the NetworkPolicy decides who gets in.
        expect(envSources().config.data).toMatchObject({ OPS_PORT: String(s.opsPort), OPS_HOST: '0.0.0.0' });
      }
    });

    it('is denied every connection by default; let in on its public port, its operations port only from the namespace and monitoring', () => {
      const labels = deployment().spec.template.metadata.labels as Record<string, string>;
      const policies = policiesSelecting(objects(), labels);
      const deny = policies.find((p) => !p.spec.ingress && !p.spec.egress);
      expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const rules = policies.flatMap((p) => (p.spec.ingress ?? []) as IngressRule[]);
      const open = rules.filter((r) => !r.from).flatMap((r) => r.ports.map((p) => p.port));
      const inside = rules.filter((r) => r.from).flatMap((r) => r.ports.map((p) => p.port));
      // The API's public port, and WhatsApp's for Twilio's status callbacks, are reached from outside.
      expect(open).toEqual(s.kind === 'api' || s.name === 'whatsapp' ? [s.port] : []);
      if (s.opsPort !== s.port || open.length === 0) {
        expect(inside).toEqual([s.opsPort]);
        for (const r of rules.filter((x) => x.from)) {
          expect(r.from).toEqual([
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ]);
        }
      }
    });

    it('may connect out only to DNS, the broker, PostgreSQL, OTLP and what it needs itself', () => {
      const labels = deployment().spec.template.metadata.labels as Record<string, string>;
      const rules = policiesSelecting(objects(), labels).flatMap(
        (p) => (p.spec.egress ?? []) as IngressRule[],
      );
      const anywhere = rules
        .filter((r) => !r.to)
        .flatMap((r) => r.ports.map((p) => `${p.protocol}/${p.port}`))
        .sort();
      const own: Record<string, number[]> = {
        'order-api': [6379, 15672, 15671],
        email: [25, 465, 587],
        whatsapp: [443],
      };
      const expected = [
        'UDP/53',
        ...[53, 5672, 5671, 5432, 4317, 4318, ...(own[s.name] ?? [])].map((p) => `TCP/${p}`),
      ].sort();
      expect(anywhere).toEqual(expected);
      const inNamespace = rules.filter((r) => r.to);
      if (s.kind === 'api') {
        // The console reads the consumers' operations ports.
        expect(inNamespace.flatMap((r) => r.ports.map((p) => p.port)).sort()).toEqual(
          SERVICES.filter((c) => c.kind === 'consumer')
            .map((c) => c.opsPort)
            .sort(),
        );
      } else {
        expect(inNamespace).toEqual([]);
      }
    });

    it('asks for and is limited in CPU and memory', () => {
      const r = container().resources;
      for (const kind of ['requests', 'limits']) {
        expect(r[kind].cpu, kind).toBeTruthy();
        expect(r[kind].memory, kind).toBeTruthy();
      }
    });

    it('runs as non-root on a read-only root filesystem without capabilities', () => {
      const p = pod();
      expect(p.securityContext.runAsNonRoot).toBe(true);
      expect(p.securityContext.runAsUser).toBeGreaterThan(0);
      expect(p.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(p.automountServiceAccountToken).toBe(false);
      const sc = container().securityContext;
      expect(sc.readOnlyRootFilesystem).toBe(true);
      expect(sc.allowPrivilegeEscalation).toBe(false);
      expect(sc.capabilities.drop).toEqual(['ALL']);
      const tmp = container().volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
      expect(p.volumes.find((v: { name: string }) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    });

    it('is given longer to stop than the service takes to drain', () => {
      const drainSeconds = Number(envSources().config.data?.SHUTDOWN_TIMEOUT_MS) / 1000;
      expect(drainSeconds).toBeGreaterThan(0);
      // runMain forces the exit 5 s after the drain timeout; the pod must outlive that.
      expect(pod().terminationGracePeriodSeconds).toBeGreaterThan(drainSeconds + 5);
    });

    it('gets every variable it requires, credentials from its Secret only', () => {
      const { config, secret } = envSources();
      const keys = new Set([...Object.keys(config.data ?? {}), ...Object.keys(secret.data ?? {})]);
      for (const v of ['NODE_ENV', 'AMQP_URL', 'DATABASE_URL', 'PORT', ...s.requiredInProduction])
        expect(keys.has(v), v).toBe(true);
      expect(config.data?.NODE_ENV).toBe('production');
      expect(config.data?.PORT).toBe(String(s.port));
      for (const v of [...COMMON_SECRETS, ...s.secrets]) {
        expect(Object.keys(secret.data ?? {}), v).toContain(v);
        expect(Object.keys(config.data ?? {}), v).not.toContain(v);
      }
      const amqp = new URL(decode(secret, 'AMQP_URL'));
      expect([amqp.username, amqp.pathname]).toEqual([s.name, `/${VHOST}`]);
      expect(new URL(decode(secret, 'DATABASE_URL')).username).toBe(s.schema);
    });

    it('only verifies the broker topology, which the definitions import created, as its own least-privilege user', () => {
      const { config } = envSources();
      expect(config.data?.TOPOLOGY).toBe('verify');
      if (s.kind === 'api') expect(config.data?.CHANNEL_OWNERS).toBe(channelOwners());
      else expect(config.data).not.toHaveProperty('CHANNEL_OWNERS');
      const grant = brokerGrants().find((g) => g.user === s.name);
      expect(grant?.configure).toEqual([]);
    });

    it('refers to its ConfigMap and Secret by their content-hashed names, so a change rolls its pods', () => {
      const { config, secret } = envSources();
      expect(config.metadata.name).toMatch(new RegExp(`^${s.name}-config-[a-z0-9]{10}$`));
      expect(secret.metadata.name).toMatch(new RegExp(`^${s.name}-secrets-[a-z0-9]{10}$`));
    });

    it("uses the release's image", () => {
      expect(container().image).toMatch(new RegExp(`^registry\\.example\\.com/notify/${s.name}:\\S+$`));
    });

    it('has a Service and a PodDisruptionBudget that select its pods', () => {
      const labels = deployment().spec.template.metadata.labels;
      const svc = find(objects(), 'Service', s.name);
      expect(labels).toMatchObject(svc.spec.selector);
      expect(svc.spec.ports).toEqual([{ name: 'http', port: s.port, targetPort: 'http', protocol: 'TCP' }]);
      const pdb = find(objects(), 'PodDisruptionBudget', s.name);
      expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
      expect(deployment().spec.replicas).toBeUndefined();
    });

    if (s.kind === 'api') {
      it('scales on CPU with a HorizontalPodAutoscaler', () => {
        const hpa = find(objects(), 'HorizontalPodAutoscaler', s.name);
        expect(hpa.apiVersion).toBe('autoscaling/v2');
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: s.name });
        expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      });
    } else {
      it("scales on its queue's depth with a KEDA ScaledObject", () => {
        const so = find(objects(), 'ScaledObject', s.name);
        expect(so.apiVersion).toBe('keda.sh/v1alpha1');
        expect(so.spec.scaleTargetRef.name).toBe(s.name);
        const [trigger, ...rest] = so.spec.triggers;
        expect(rest).toEqual([]);
        expect(trigger.type).toBe('rabbitmq');
        expect(trigger.metadata.queueName).toBe(channelConsumers[s.name as Channel].queue.name);
        expect(trigger.metadata.vhostName).toBe(VHOST);
        const auth = find(objects(), 'TriggerAuthentication', trigger.authenticationRef.name);
        const [ref] = auth.spec.secretTargetRef;
        expect(ref.parameter).toBe('host');
        const secret = find(objects(), 'Secret', ref.name);
        expect(new URL(decode(secret, ref.key)).protocol).toBe('amqp:');
        expect(
          objects().some((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === s.name),
        ).toBe(false);
      });
    }
  });
});

describe("the production overlay's Redis (the order API's shared rate limit)", () => {
  const objects = () => rendered.get('production') as K8sObject[];

  it('runs one Redis with its password from its own Secret, which the order API shares through REDIS_URL', () => {
    const set = find(objects(), 'StatefulSet', 'redis');
    expect(set.spec.replicas).toBe(1);
    const pod = set.spec.template.spec;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    const [c] = pod.containers;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    const passwordRef = c.env.find((e: { name: string }) => e.name === 'REDIS_PASSWORD').valueFrom
      .secretKeyRef;
    const redisSecret = find(objects(), 'Secret', passwordRef.name);
    const password = decode(redisSecret, passwordRef.key);
    expect(password).toBeTruthy();
    expect(c.args).toContain('$(REDIS_PASSWORD)');
    const svc = find(objects(), 'Service', 'redis');
    expect(svc.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' }]);

    const api = find(objects(), 'Deployment', 'order-api');
    const secretName = api.spec.template.spec.containers[0].envFrom.find(
      (r: { secretRef?: { name: string } }) => r.secretRef,
    ).secretRef.name;
    const url = new URL(decode(find(objects(), 'Secret', secretName), 'REDIS_URL'));
    expect([url.hostname, url.port, url.password]).toEqual(['redis', '6379', password]);
  });

  it('lets only the order API in, on 6379, and nothing out', () => {
    const set = find(objects(), 'StatefulSet', 'redis');
    const policies = policiesSelecting(objects(), set.spec.template.metadata.labels);
    expect(policies.map((p) => p.metadata.name)).toEqual(['redis']);
    const [policy] = policies as [Obj];
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([]);
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'order-api' } } }],
        ports: [{ port: 6379, protocol: 'TCP' }],
      },
    ]);
  });
});

describe('the rabbitmq-cluster overlay', () => {
  it('runs three RabbitMQ nodes that import the definitions and share the broker settings', async () => {
    const objects = rendered.get('rabbitmq-cluster') as K8sObject[];
    const cluster = find(objects, 'RabbitmqCluster', 'notify-rabbitmq');
    expect(cluster.apiVersion).toBe('rabbitmq.com/v1beta1');
    expect(cluster.spec.replicas).toBe(3);
    const volume = cluster.spec.override.statefulSet.spec.template.spec.volumes[0];
    const secret = find(objects, 'Secret', volume.secret.secretName);
    const imported = JSON.parse(decode(secret, 'definitions.json'));
    expect(imported.users.map((u: { name: string }) => u.name)).toEqual(brokerGrants().map((g) => g.user));

    const settings = (text: string) =>
      new Map(
        text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => l.split(/\s*=\s*/) as [string, string]),
      );
    const conf = settings(await readFile(repoPath('infra/rabbitmq/rabbitmq.conf'), 'utf8'));
    const additional = settings(cluster.spec.rabbitmq.additionalConfig);
    for (const [key, value] of additional) {
      if (key === 'load_definitions') {
        const mount = cluster.spec.override.statefulSet.spec.template.spec.containers[0].volumeMounts[0];
        expect(value).toBe(path.posix.join(mount.mountPath, 'definitions.json'));
      } else expect(conf.get(key), key).toBe(value);
    }
    for (const key of ['default_queue_type', 'disk_free_limit.absolute', 'vm_memory_high_watermark.relative'])
      expect(additional.has(key), key).toBe(true);
  });
});
