import path from 'node:path';
import { stringify } from 'yaml';
import { kustomizeBuild } from '../k8s/kustomize.js';

// Prints what `kubectl kustomize <dir>` prints (resource order aside), with this
// repository's renderer: npm run render:k8s -w @notify/infra-check -- infra/k8s/overlays/production
const dir = process.argv[2];
if (!dir) {
  console.error('usage: render-k8s <kustomization directory>');
  process.exit(2);
}
const objects = await kustomizeBuild(path.resolve(process.env.INIT_CWD ?? process.cwd(), dir));
process.stdout.write(objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
