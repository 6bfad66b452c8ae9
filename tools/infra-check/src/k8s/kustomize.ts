import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import type { K8sObject } from './base-manifests.js';

// A kustomize renderer for exactly the features infra/k8s uses: resources (files and
// directories), namespace, configMapGenerator / secretGenerator (envs, literals, files,
// behavior create|merge, name hash suffix, disableNameSuffixHash), images, and the name
// references of workloads to generated ConfigMaps and Secrets. Anything else in a
// kustomization file is an error, so the renderer never silently ignores a feature.
// Debian 12 has no kubectl package; where a kubectl is installed, docs/deployment.md
// shows how its output was compared with this one.

const SUPPORTED_KEYS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'images',
]);

interface GeneratorArgs {
  name: string;
  behavior?: 'create' | 'merge';
  envs?: string[];
  literals?: string[];
  files?: string[];
  type?: string;
  options?: { disableNameSuffixHash?: boolean };
}

interface Kustomization {
  resources?: string[];
  namespace?: string;
  configMapGenerator?: GeneratorArgs[];
  secretGenerator?: GeneratorArgs[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

/** A rendered object plus what the final pass needs to know about it. */
interface Tracked {
  object: K8sObject;
  /** Name before any hash suffix: what other resources refer to. */
  originalName: string;
  hashSuffix: boolean;
}

export class KustomizeError extends Error {
  override name = 'KustomizeError';
}

async function readKustomization(dir: string): Promise<Kustomization> {
  for (const file of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const text = await readFile(path.join(dir, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const k = parse(text) as Record<string, unknown>;
    const unsupported = Object.keys(k).filter((key) => !SUPPORTED_KEYS.has(key));
    if (unsupported.length)
      throw new KustomizeError(`${dir}: unsupported kustomization fields: ${unsupported.join(', ')}`);
    return k as Kustomization;
  }
  throw new KustomizeError(`${dir}: no kustomization file`);
}

async function readObjects(file: string): Promise<K8sObject[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const out: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new KustomizeError(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null) continue;
    if (!value.kind || !value.metadata?.name)
      throw new KustomizeError(`${file}: a document without kind or metadata.name`);
    out.push(value);
  }
  return out;
}

/** kustomize's env file rules: `KEY=VALUE` taken literally, blank lines and `#` comments skipped. */
export function parseEnvFile(text: string, source: string): [string, string][] {
  const pairs: [string, string][] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.replace(/^\s+/, '');
      if (!line || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const key = eq === -1 ? line : line.slice(0, eq);
      if (!/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(key))
        throw new KustomizeError(`${source}:${i + 1}: "${key}" is not a valid variable name`);
      pairs.push([key, eq === -1 ? '' : line.slice(eq + 1)]);
    });
  return pairs;
}

function parseLiteral(literal: string): [string, string] {
  const eq = literal.indexOf('=');
  if (eq <= 0) throw new KustomizeError(`literal "${literal}" is not KEY=VALUE`);
  let value = literal.slice(eq + 1);
  const q = value[0];
  if (value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q)) value = value.slice(1, -1);
  return [literal.slice(0, eq), value];
}

async function generatorData(dir: string, g: GeneratorArgs): Promise<Map<string, string>> {
  const data = new Map<string, string>();
  const put = (key: string, value: string) => {
    if (data.has(key)) throw new KustomizeError(`${g.name}: key ${key} is defined twice`);
    data.set(key, value);
  };
  for (const env of g.envs ?? []) {
    const file = path.join(dir, env);
    const text = await readFile(file, 'utf8').catch(() => {
      throw new KustomizeError(`${g.name}: env file ${file} does not exist`);
    });
    for (const [k, v] of parseEnvFile(text, file)) put(k, v);
  }
  for (const literal of g.literals ?? []) put(...parseLiteral(literal));
  for (const entry of g.files ?? []) {
    const eq = entry.indexOf('=');
    const key = eq === -1 ? path.basename(entry) : entry.slice(0, eq);
    const file = path.join(dir, eq === -1 ? entry : entry.slice(eq + 1));
    const text = await readFile(file, 'utf8').catch(() => {
      throw new KustomizeError(`${g.name}: file ${file} does not exist`);
    });
    put(key, text);
  }
  return data;
}

function sortedRecord(entries: Iterable<[string, string]>): Record<string, string> {
  return Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Go's encoding/json escapes these where JSON.stringify does not; the hash depends on it. */
function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeysDeep((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/**
 * The suffix kustomize appends to a generated ConfigMap's or Secret's name: sha256 of the
 * JSON of kind, type, data and name. kustomize looks the name up with a path that finds
 * nothing, so the name is always hashed as "" (checked against kubectl's kustomize v5.5).
 */
export function nameHash(o: K8sObject): string {
  const name = '';
  const encoded =
    o.kind === 'Secret'
      ? { kind: 'Secret', type: o.type ?? '', name, data: o.data ?? '' }
      : { kind: 'ConfigMap', name, data: o.data ?? '' };
  const hex = createHash('sha256')
    .update(goJson(sortKeysDeep(encoded)))
    .digest('hex');
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join('');
}

/** kustomize writes Secret values as base64 in lines of 70, each ended by \n, when longer than one line. */
function secretValue(value: string): string {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  if (b64.length < 70) return b64;
  return (b64.match(/.{1,70}/g) ?? []).map((line) => `${line}\n`).join('');
}

/** Kinds the namespace transformer leaves alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

async function isDirectory(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function accumulate(dir: string): Promise<Tracked[]> {
  const k = await readKustomization(dir);
  const items: Tracked[] = [];
  for (const r of k.resources ?? []) {
    const target = path.join(dir, r);
    if (await isDirectory(target)) items.push(...(await accumulate(target)));
    else
      items.push(
        ...(await readObjects(target)).map((object) => ({
          object,
          originalName: object.metadata.name,
          hashSuffix: false,
        })),
      );
  }

  const generate = async (kind: 'ConfigMap' | 'Secret', g: GeneratorArgs) => {
    const data = await generatorData(dir, g);
    const encode = (v: string) => (kind === 'Secret' ? secretValue(v) : v);
    const existing = items.find((t) => t.object.kind === kind && t.originalName === g.name);
    if (g.behavior === 'merge') {
      if (!existing) throw new KustomizeError(`${dir}: ${kind} ${g.name} to merge into does not exist`);
      const merged = new Map(Object.entries((existing.object.data as Record<string, string>) ?? {}));
      for (const [key, value] of data) merged.set(key, encode(value));
      existing.object.data = sortedRecord(merged);
      return;
    }
    if (g.behavior && g.behavior !== 'create') throw new KustomizeError(`behavior ${g.behavior} unsupported`);
    if (existing) throw new KustomizeError(`${dir}: ${kind} ${g.name} already exists`);
    const object: K8sObject = {
      apiVersion: 'v1',
      kind,
      metadata: { name: g.name },
      ...(kind === 'Secret' ? { type: g.type ?? 'Opaque' } : {}),
      data: sortedRecord([...data].map(([key, value]) => [key, encode(value)])),
    };
    const disable = g.options?.disableNameSuffixHash ?? k.generatorOptions?.disableNameSuffixHash ?? false;
    items.push({ object, originalName: g.name, hashSuffix: !disable });
  };
  for (const g of k.configMapGenerator ?? []) await generate('ConfigMap', g);
  for (const g of k.secretGenerator ?? []) await generate('Secret', g);

  if (k.namespace)
    for (const t of items) if (!CLUSTER_SCOPED.has(t.object.kind)) t.object.metadata.namespace = k.namespace;

  for (const image of k.images ?? []) {
    for (const t of items) {
      for (const c of podSpec(t.object)?.containers ?? []) {
        const ref = parseImage(c.image);
        if (ref.name !== image.name) continue;
        const name = image.newName ?? ref.name;
        c.image = image.digest
          ? `${name}@${image.digest}`
          : `${name}${image.newTag ? `:${image.newTag}` : ref.tag ? `:${ref.tag}` : ''}`;
      }
    }
  }
  return items;
}

function parseImage(image: string): { name: string; tag?: string } {
  const at = image.indexOf('@');
  const base = at === -1 ? image : image.slice(0, at);
  const colon = base.lastIndexOf(':');
  if (colon > base.lastIndexOf('/')) return { name: base.slice(0, colon), tag: base.slice(colon + 1) };
  return { name: base };
}

interface Container {
  image: string;
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: {
    valueFrom?: { configMapKeyRef?: { name: string }; secretKeyRef?: { name: string } };
  }[];
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { configMap?: { name: string }; secret?: { secretName: string } }[];
}

function podSpec(o: K8sObject): PodSpec | undefined {
  if (o.kind === 'Pod') return o.spec as PodSpec;
  const template = (o.spec as { template?: { spec?: PodSpec } } | undefined)?.template;
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'].includes(o.kind)
    ? template?.spec
    : undefined;
}

/** Renders a kustomization directory like `kubectl kustomize <dir>`. */
export async function kustomizeBuild(dir: string): Promise<K8sObject[]> {
  const items = await accumulate(path.resolve(dir));
  const renamed = new Map<string, string>();
  for (const t of items) {
    if (!t.hashSuffix) continue;
    const name = `${t.originalName}-${nameHash(t.object)}`;
    renamed.set(`${t.object.kind}/${t.object.metadata.namespace ?? ''}/${t.originalName}`, name);
    t.object.metadata.name = name;
  }
  const lookup = (kind: string, ns: string | undefined, name: string) =>
    renamed.get(`${kind}/${ns ?? ''}/${name}`) ?? name;
  for (const { object } of items) {
    const spec = podSpec(object);
    if (!spec) continue;
    const ns = object.metadata.namespace;
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) e.configMapRef.name = lookup('ConfigMap', ns, e.configMapRef.name);
        if (e.secretRef) e.secretRef.name = lookup('Secret', ns, e.secretRef.name);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom;
        if (ref?.configMapKeyRef)
          ref.configMapKeyRef.name = lookup('ConfigMap', ns, ref.configMapKeyRef.name);
        if (ref?.secretKeyRef) ref.secretKeyRef.name = lookup('Secret', ns, ref.secretKeyRef.name);
      }
    }
    for (const v of spec.volumes ?? []) {
      if (v.configMap) v.configMap.name = lookup('ConfigMap', ns, v.configMap.name);
      if (v.secret) v.secret.secretName = lookup('Secret', ns, v.secret.secretName);
    }
  }
  return items.map((t) => t.object);
}
