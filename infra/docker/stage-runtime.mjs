#!/usr/bin/env node
// Gathers what one service needs at run time into a folder of its own, from a pruned and
// built monorepo (the current directory): its production dependency tree exactly as
// `npm ls --omit=dev --workspace <package>` reports it, and of each workspace in that tree
// the files its package.json `files` field publishes (as `npm pack` would pack them).
//
// `npm prune --omit=dev` is not enough: npm links every workspace of the repository, so a
// workspace that is only a dev dependency (a test stand-in) would ship with all of its
// dependencies. Used by infra/docker/Dockerfile and by the image check of
// tools/infra-check, so both ship the same thing.
//
// Usage: node stage-runtime.mjs <package-name> <out-dir>

import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';

const [packageName, outArg] = process.argv.slice(2);
if (!packageName || !outArg) {
  console.error('usage: stage-runtime.mjs <package-name> <out-dir>');
  process.exit(2);
}
const root = process.cwd();
const out = path.resolve(outArg);
if (existsSync(out)) {
  console.error(`stage-runtime: ${out} already exists`);
  process.exit(2);
}

const npm = (...args) =>
  execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

const tree = [
  ...new Set(
    npm('ls', '--parseable', '--all', '--omit=dev', '--workspace', packageName)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && path.resolve(line) !== root),
  ),
];

const workspaces = new Map();
for (const abs of tree) {
  const rel = path.relative(root, abs);
  if (rel.startsWith('..')) throw new Error(`dependency outside the repository: ${abs}`);
  const target = path.join(out, rel);
  mkdirSync(path.dirname(target), { recursive: true });
  if (lstatSync(abs).isSymbolicLink()) {
    // A workspace: keep npm's link and copy the workspace's published files below.
    symlinkSync(readlinkSync(abs), target);
    const dir = path.relative(root, realpathSync(abs));
    const { name } = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    workspaces.set(name, dir);
    continue;
  }
  // Nested node_modules are entries of their own in the tree when they are needed.
  cpSync(abs, target, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => src === abs || !src.slice(abs.length).split(path.sep).includes('node_modules'),
  });
}

const packed = JSON.parse(
  npm(
    'pack',
    '--dry-run',
    '--json',
    '--ignore-scripts',
    ...[...workspaces.values()].flatMap((dir) => ['--workspace', dir]),
  ),
);
if (packed.length !== workspaces.size) throw new Error('npm pack did not list every workspace');
for (const pkg of packed) {
  const dir = workspaces.get(pkg.name);
  if (dir === undefined) throw new Error(`npm pack listed an unexpected package ${pkg.name}`);
  for (const file of pkg.files) {
    const target = path.join(out, dir, file.path);
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(path.join(root, dir, file.path), target);
  }
}

const dirs = [...workspaces.values()];
console.log(`staged ${packageName}: ${tree.length - dirs.length} packages, workspaces ${dirs.join(', ')}`);
