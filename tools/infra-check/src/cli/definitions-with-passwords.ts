import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDotEnv } from '../env-file.js';
import { brokerGrants } from '../rabbitmq/broker-users.js';
import {
  DEVELOPMENT_ADMIN,
  amqpPasswordVariable as variable,
  buildDefinitions,
} from '../rabbitmq/definitions.js';

// Writes a definitions file with real password hashes for the broker to load
// (load_definitions), taking each user's password from <USER>_AMQP_PASSWORD in the
// environment or in an env file. Never write the output into the repository.
//   npm run definitions -w @notify/infra-check -- --out /secure/place/definitions.json
//   npm run definitions -w @notify/infra-check -- --env-file infra/.env --out infra/rabbitmq/definitions.local.json

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    'env-file': { type: 'string' },
    vhost: { type: 'string' },
  },
});
// npm runs workspace scripts in the workspace; paths are meant from where npm was run.
const from = (p: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
if (!args.out) {
  console.error('usage: definitions --out <file> [--env-file <file>] [--vhost <name>]');
  process.exit(2);
}

const env = new Map(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
if (args['env-file'])
  for (const [k, v] of parseDotEnv(readFileSync(from(args['env-file']), 'utf8'))) env.set(k, v);

const users = brokerGrants().map((g) => g.user);
const missing = users.map(variable).filter((v) => !env.get(v));
if (missing.length) {
  console.error(`definitions: set ${missing.join(', ')}`);
  process.exit(1);
}
const adminPassword = env.get(variable(DEVELOPMENT_ADMIN));
const definitions = buildDefinitions({
  ...(args.vhost ? { vhost: args.vhost } : {}),
  passwords: Object.fromEntries(users.map((u) => [u, env.get(variable(u)) as string])),
  ...(adminPassword ? { administrators: [{ name: DEVELOPMENT_ADMIN, password: adminPassword }] } : {}),
});
writeFileSync(from(args.out), `${JSON.stringify(definitions, null, 2)}\n`, { mode: 0o600 });
console.log(`wrote ${args.out}: ${definitions.users.map((u) => u.name).join(', ')}`);
