import { execFile } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import type { K8sObject } from './base-manifests.js';

// infra/k8s is rendered by the same tool an operator applies it with (`kubectl apply -k`
// runs kubectl's built-in kustomize), so what the checks see is what a cluster gets:
// generated names with their hashes, references to them, namespaces, images.

const INSTALL_HINT =
  "install kubectl, e.g. the Kubernetes apt repository's kubectl package or the Google Cloud CLI's component (gcloud components install kubectl)";

/** Both errors say everything in one line: a stack from a child process's callback adds nothing. */
abstract class OneLineError extends Error {
  constructor(message: string) {
    super(message);
    this.stack = `${new.target.name}: ${message}`;
  }
}

export class KubectlMissingError extends OneLineError {
  override name = 'KubectlMissingError';
  constructor(binary: string) {
    super(
      `${binary} not found: the Kubernetes checks render infra/k8s with \`kubectl kustomize\`; ${INSTALL_HINT}`,
    );
  }
}

export class KustomizeError extends OneLineError {
  override name = 'KustomizeError';
}

/** kubectl logs its failure as `E... run.go:72] "command failed" err="<reason>"`: keep the reason. */
function reason(stderr: string, fallback: string): string {
  const line = stderr.trim().split('\n').at(-1) ?? '';
  const quoted = /err="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
  return (quoted ? quoted.replace(/\\(.)/g, '$1') : line) || fallback;
}

function parseObjects(yaml: string, dir: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(yaml)) {
    if (doc.errors.length) throw new KustomizeError(`${dir}: unreadable output: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) out.push(value);
  }
  return out;
}

export interface KustomizeOptions {
  /** The kubectl binary (default: `kubectl` on PATH). */
  readonly kubectl?: string;
}

/** `kubectl kustomize <dir>`, as objects. Fails with KubectlMissingError when there is no kubectl. */
export function kustomizeBuild(dir: string, options: KustomizeOptions = {}): Promise<K8sObject[]> {
  const kubectl = options.kubectl ?? 'kubectl';
  return new Promise((resolve, reject) => {
    execFile(
      kubectl,
      ['kustomize', dir],
      { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: 120_000, windowsHide: true },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
          reject(new KubectlMissingError(kubectl));
        } else if (err) {
          reject(new KustomizeError(`kubectl kustomize ${dir}: ${reason(stderr, err.message)}`));
        } else {
          try {
            resolve(parseObjects(stdout, dir));
          } catch (parseError) {
            reject(parseError as Error);
          }
        }
      },
    );
  });
}
