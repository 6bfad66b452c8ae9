import { execFile } from 'node:child_process';
import { access, chmod, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// The images run Node 24 LTS; the image check runs the build and the service on the same
// major. The npm registry ships Node as the `node` package, whose install step puts the
// platform's binary (a registry package too) at node_modules/node/bin/node. It is kept
// in a cache folder readable by every user, so the service can run as the image's
// unprivileged user, and reused by later runs.

const run = promisify(execFile);

export const NODE_MAJOR = 24;

export function nodeCacheDir(): string {
  return (
    process.env.NOTIFY_NODE_CACHE ??
    path.join(
      process.platform === 'win32' ? os.tmpdir() : '/var/tmp',
      `notify-infra-check-node-${NODE_MAJOR}`,
    )
  );
}

async function version(binary: string): Promise<string | undefined> {
  try {
    await access(binary, constants.X_OK);
    return (await run(binary, ['--version'])).stdout.trim();
  } catch {
    return undefined;
  }
}

/** Path of a Node 24 binary, installed from the npm registry on first use. */
export async function ensureNode24(log?: (line: string) => void): Promise<string> {
  const dir = nodeCacheDir();
  const binary = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  const found = await version(binary);
  if (found?.startsWith(`v${NODE_MAJOR}.`)) return binary;
  log?.(`installing node@${NODE_MAJOR} into ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  await run(
    'npm',
    ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', `node@${NODE_MAJOR}`],
    {
      env: { ...process.env, NODE_ENV: 'production' },
      timeout: 300_000,
    },
  );
  const installed = await version(binary);
  if (!installed?.startsWith(`v${NODE_MAJOR}.`))
    throw new Error(`npm install node@${NODE_MAJOR} gave no Node ${NODE_MAJOR} binary at ${binary}`);
  return binary;
}
