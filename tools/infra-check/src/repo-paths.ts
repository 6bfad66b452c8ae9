import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, found from this file (src/ or dist/ of tools/infra-check). */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export const repoPath = (...parts: string[]) => path.join(REPO_ROOT, ...parts);
