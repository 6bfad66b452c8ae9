import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generatedFiles } from '../generated-files.js';
import { REPO_ROOT } from '../repo-paths.js';

for (const f of await generatedFiles()) {
  const target = path.join(REPO_ROOT, f.path);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, f.content);
  console.log(`wrote ${f.path}`);
}
