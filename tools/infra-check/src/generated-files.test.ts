import { describe, expect, it } from 'vitest';
import { generatedFiles, staleFiles } from './generated-files.js';

describe('files generated from the contracts and the service catalogue', () => {
  it('are committed as the generator writes them (run `npm run generate -w @notify/infra-check`)', async () => {
    expect(await staleFiles()).toEqual([]);
  });

  it('do not spell any password', async () => {
    const files = await generatedFiles();
    const prod = files.find((f) => f.path === 'infra/rabbitmq/definitions.json');
    const users = JSON.parse(prod?.content ?? '{}').users as { password_hash: string }[];
    expect(users.length).toBeGreaterThan(0);
    expect(users.every((u) => u.password_hash === '')).toBe(true);
  });
});
