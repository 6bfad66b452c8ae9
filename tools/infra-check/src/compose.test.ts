import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  composeSpecValidator,
  loadCompose,
  loadComposeUninterpolated,
  readComposeText,
  readEnvExample,
} from './compose/compose-file.js';
import type { ComposeFile, ComposeService } from './compose/compose-file.js';
import { InterpolationError, interpolate, references } from './compose/interpolate.js';
import { brokerGrants, channelOwners } from './rabbitmq/broker-users.js';
import {
  DEVELOPMENT_ADMIN,
  VHOST,
  amqpPasswordVariable,
  developmentPassword,
} from './rabbitmq/definitions.js';
import type { Definitions } from './rabbitmq/definitions.js';
import { rabbitPasswordMatches } from './rabbitmq/password-hash.js';
import { repoPath } from './repo-paths.js';
import { COMMON_SECRETS, SERVICES, STAND_INS } from './service-catalogue.js';

let text: string;
let env: Map<string, string>;
let compose: ComposeFile;

beforeAll(async () => {
  text = await readComposeText();
  env = await readEnvExample();
  compose = loadCompose(text, env);
});

const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`compose.yaml has no service ${name}`);
  return s;
};

const environment = (s: ComposeService): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v ?? '')]));

describe('compose interpolation', () => {
  it('substitutes defaults, required values and $$ like docker compose', () => {
    const vars = new Map([
      ['SET', 'x'],
      ['EMPTY', ''],
    ]);
    expect(interpolate('$SET ${SET} ${EMPTY:-d} ${EMPTY-d} ${MISSING-d} $$SET', vars)).toBe('x x d  d $SET');
    expect(interpolate('${SET:+r}${EMPTY:+r}', vars)).toBe('r');
    expect(() => interpolate('${EMPTY:?say so}', vars)).toThrow(InterpolationError);
    expect(references('${A:?m} ${B:-d} $C $$D').map((r) => [r.name, r.required, r.hasDefault])).toEqual([
      ['A', true, false],
      ['B', false, true],
      ['C', false, false],
    ]);
  });
});

describe('infra/compose.yaml', () => {
  it('is valid against the Compose Specification schema once .env.example is applied', async () => {
    const raw = JSON.parse(await readFile(new URL('../schemas/compose-spec.json', import.meta.url), 'utf8'));
    expect(raw.$schema).toContain('draft-07');
    const validate = await composeSpecValidator();
    expect(validate(compose)).toEqual([]);
  });

  it('the schema check rejects what docker compose would reject', async () => {
    const validate = await composeSpecValidator();
    expect(
      validate({ services: { a: { image: 'x', restart: 'unless-stopped', helthcheck: {} } } }),
    ).not.toEqual([]);
    expect(
      validate({ services: { a: { image: 'x', depends_on: { b: { condition: 'healthy' } } } } }),
    ).not.toEqual([]);
  });

  it('gives every service a health check and a restart policy', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(s.restart, `${name} restart`).toMatch(/^(always|unless-stopped|on-failure)/);
    }
  });

  it('starts a service only after what it depends on is healthy', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(Array.isArray(s.depends_on), `${name} depends_on must use conditions`).toBe(false);
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        expect(cond.condition, `${name} -> ${dep}`).toBe('service_healthy');
        expect(service(dep).healthcheck?.test).toBeDefined();
      }
    }
    for (const s of SERVICES) {
      expect(Object.keys(service(s.name).depends_on ?? {})).toEqual(
        expect.arrayContaining(['rabbitmq', 'postgres']),
      );
    }
  });

  it.each(SERVICES)('runs $name from the shared Dockerfile with every variable it requires', (s) => {
    const c = service(s.name);
    expect(c.build?.dockerfile).toBe('infra/docker/Dockerfile');
    expect(c.build?.args).toEqual({
      PACKAGE: s.package,
      APP_DIR: s.dir,
      PORT: String(s.port),
      ...(s.opsPort !== s.port ? { OPS_PORT: String(s.opsPort) } : {}),
    });
    const vars = environment(c);
    for (const required of ['AMQP_URL', 'DATABASE_URL', 'PORT', ...s.requiredInProduction]) {
      expect(vars[required], `${s.name}: ${required}`).toBeTruthy();
    }
    expect(vars.PORT).toBe(String(s.port));
    if (s.opsPort !== s.port) expect(vars.OPS_PORT).toBe(String(s.opsPort));
    const amqp = new URL(vars.AMQP_URL as string);
    expect([amqp.username, amqp.hostname, amqp.pathname]).toEqual([s.name, 'rabbitmq', `/${VHOST}`]);
    const db = new URL(vars.DATABASE_URL as string);
    expect([db.username, db.hostname, db.pathname]).toEqual([s.schema, 'postgres', '/notify']);
  });

  it.each(SERVICES)(
    'runs $name with its own least-privilege broker user, verifying the topology the broker imported',
    (s) => {
      const vars = environment(service(s.name));
      expect(vars.TOPOLOGY).toBe('verify');
      expect(brokerGrants().find((g) => g.user === s.name)?.configure).toEqual([]);
      if (s.kind === 'api') expect(vars.CHANNEL_OWNERS).toBe(channelOwners());
      else expect(vars).not.toHaveProperty('CHANNEL_OWNERS');
    },
  );

  it.each(STAND_INS)('builds the $name stand-in with the same Dockerfile, in development mode', (t) => {
    const c = service(t.name);
    expect(c.build?.dockerfile).toBe('infra/docker/Dockerfile');
    expect(c.build?.args?.PACKAGE).toBe(t.package);
    expect(c.build?.args?.APP_DIR).toBe(t.dir);
    expect(environment(c).NODE_ENV).toBe('development');
  });

  it('holds no secret itself: every credential is a reference to infra/.env', () => {
    const raw = loadComposeUninterpolated(text);
    for (const s of SERVICES) {
      const vars = environment(raw.services[s.name] as ComposeService);
      for (const secret of [...COMMON_SECRETS, ...s.secrets]) {
        expect(vars[secret], `${s.name}: ${secret}`).toMatch(/\$\{[A-Z0-9_]+:\?/);
      }
    }
    for (const [key, value] of env) {
      if (/PASSWORD|TOKEN|API_KEYS/.test(key)) expect(text, key).not.toContain(value);
    }
  });

  it("runs Redis for the order API's shared rate limit, password from infra/.env, not published", () => {
    const redis = service('redis');
    expect(redis.ports ?? []).toEqual([]);
    expect(environment(redis).REDIS_PASSWORD).toBe(env.get('REDIS_PASSWORD'));
    const url = new URL(environment(service('order-api')).REDIS_URL as string);
    expect([url.protocol, url.hostname, url.port, url.password]).toEqual([
      'redis:',
      'redis',
      '6379',
      env.get('REDIS_PASSWORD'),
    ]);
    expect(Object.keys(service('order-api').depends_on ?? {})).toContain('redis');
  });

  it('refers only to variables that .env.example sets or that have a default', () => {
    for (const r of references(text)) {
      if (!r.hasDefault) expect(env.has(r.name), r.name).toBe(true);
    }
  });

  it('gives PostgreSQL a password for each service role that the init script creates', async () => {
    const init = await readFile(repoPath('infra/postgres/init/10-notify.sh'), 'utf8');
    const schemas = /SERVICE_SCHEMAS="([^"]*)"/.exec(init)?.[1]?.split(/\s+/);
    expect(schemas).toEqual(SERVICES.map((s) => s.schema));
    const vars = environment(service('postgres'));
    for (const s of SERVICES) expect(vars[`${s.schema.toUpperCase()}_DB_PASSWORD`]).toBeTruthy();
  });

  it('loads the broker users whose passwords .env.example gives the services', async () => {
    const rabbit = service('rabbitmq');
    const mounts = (rabbit.volumes ?? []).map(String);
    expect(mounts).toContain('./rabbitmq/definitions.dev.json:/etc/rabbitmq/definitions.json:ro');
    expect(mounts).toContain('./rabbitmq/rabbitmq.conf:/etc/rabbitmq/rabbitmq.conf:ro');
    const dev = JSON.parse(
      await readFile(repoPath('infra/rabbitmq/definitions.dev.json'), 'utf8'),
    ) as Definitions;
    for (const user of [...brokerGrants().map((g) => g.user), DEVELOPMENT_ADMIN]) {
      const password = env.get(amqpPasswordVariable(user));
      expect(password, user).toBe(developmentPassword(user));
      const hash = dev.users.find((u) => u.name === user)?.password_hash ?? '';
      expect(rabbitPasswordMatches(password as string, hash), user).toBe(true);
    }
    for (const s of SERVICES) {
      const url = new URL(environment(service(s.name)).AMQP_URL as string);
      expect(decodeURIComponent(url.password)).toBe(env.get(amqpPasswordVariable(s.name)));
    }
  });
});
