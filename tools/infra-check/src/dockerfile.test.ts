import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { execForm, parseDockerfile, splitArg } from './images/dockerfile.js';
import { repoPath } from './repo-paths.js';

const dockerfile = async () => parseDockerfile(await readFile(repoPath('infra/docker/Dockerfile'), 'utf8'));

describe('infra/docker/Dockerfile', () => {
  it('prunes with the turbo version of the lockfile', async () => {
    const lock = JSON.parse(await readFile(repoPath('package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    const prune = (await dockerfile()).stages.find((s) => s.name === 'prune');
    const arg = prune?.instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('TURBO_VERSION'));
    expect(splitArg(arg?.args ?? '')[1]).toBe(lock.packages['node_modules/turbo']?.version);
  });

  it('ships Node 24 on slim Debian as a non-root user, under tini, with a health check', async () => {
    const { globalArgs, stages } = await dockerfile();
    expect(globalArgs.get('NODE_VERSION')).toBe('24');
    const runtime = stages[stages.length - 1];
    expect(runtime?.base).toBe('node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim');
    const by = (k: string) => runtime?.instructions.filter((i) => i.keyword === k) ?? [];
    expect(by('USER').map((i) => i.args)).toEqual(['1000:1000']);
    expect(execForm(by('ENTRYPOINT')[0]?.args ?? '[]')).toEqual(['/usr/bin/tini', '--']);
    expect(by('HEALTHCHECK')[0]?.args).toMatch(/\/healthz/);
    expect(by('COPY').map((i) => i.args)).toEqual(['--from=build /runtime/ /app/']);
    const labels = by('LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const l of ['source', 'version', 'revision', 'created'])
      expect(labels).toContain(`org.opencontainers.image.${l}=`);
  });

  it("copies turbo's global dependencies into the build, so its task hashes are the monorepo's", async () => {
    const turbo = JSON.parse(await readFile(repoPath('turbo.json'), 'utf8')) as {
      globalDependencies?: string[];
    };
    const build = (await dockerfile()).stages.find((s) => s.name === 'build');
    const copied = (build?.instructions ?? [])
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(turbo.globalDependencies?.length).toBeGreaterThan(0);
    for (const file of turbo.globalDependencies ?? []) expect(copied, file).toContain(file);
  });

  it('installs dependencies in a layer of their own, before the sources are copied', async () => {
    const deps = (await dockerfile()).stages.find((s) => s.name === 'deps');
    expect(deps?.instructions.map((i) => i.keyword)).toEqual(['COPY', 'RUN']);
    expect(deps?.instructions[0]?.args).toContain('/pruned/json/');
    expect(deps?.instructions[1]?.args).toMatch(/^--mount=type=cache,target=\/root\/\.npm npm ci\b/);
  });
});

describe('.dockerignore', () => {
  it('keeps installed and built files, local settings and secrets out of the build context', async () => {
    const lines = (await readFile(repoPath('.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
    for (const pattern of [
      '**/node_modules',
      '**/dist',
      '**/.turbo',
      '.git',
      '**/.env',
      '**/.env.*',
      '**/*.key',
      '**/*.pem',
    ])
      expect(lines, pattern).toContain(pattern);
  });
});
