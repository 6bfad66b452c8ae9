import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_URL, AMQP_URL, removeStaleVhosts, scratchNameAge } from './index.js';

function api(method: string, path: string, body?: unknown) {
  const u = new URL(AMQP_URL);
  const auth = Buffer.from(
    `${decodeURIComponent(u.username || 'guest')}:${decodeURIComponent(u.password || 'guest')}`,
  );
  return fetch(`${MANAGEMENT_URL}/api${path}`, {
    method,
    headers: { authorization: `Basic ${auth.toString('base64')}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

const prefix = `stale${randomBytes(2).toString('hex')}`;
const name = (ageMs: number) =>
  `${prefix}-${(Date.now() - ageMs).toString(36)}-${randomBytes(3).toString('hex')}`;
const old = name(7 * 3_600_000);
const young = name(60_000);

afterAll(async () => {
  for (const v of [old, young]) await api('DELETE', `/vhosts/${encodeURIComponent(v)}`);
  await api('DELETE', `/users/${encodeURIComponent(`${old}-email`)}`);
});

describe('removeStaleVhosts', () => {
  it('reads the age from the name and ignores other names', () => {
    expect(scratchNameAge(old, prefix, '-')).toBeGreaterThan(7 * 3_600_000 - 1_000);
    expect(scratchNameAge(`${prefix}-x-abcdef`, prefix, '-')).toBeNull();
    expect(scratchNameAge(`${prefix}x-${Date.now().toString(36)}-abcdef`, prefix, '-')).toBeNull();
    expect(scratchNameAge('/', prefix, '-')).toBeNull();
  });

  it('deletes a killed run’s old vhost and its users, and leaves a young one alone', async () => {
    for (const v of [old, young])
      expect((await api('PUT', `/vhosts/${encodeURIComponent(v)}`, {})).ok).toBe(true);
    const user = `${old}-email`;
    expect((await api('PUT', `/users/${encodeURIComponent(user)}`, { password: 'x', tags: '' })).ok).toBe(
      true,
    );

    expect(await removeStaleVhosts(prefix)).toEqual([old]);
    expect((await api('GET', `/vhosts/${encodeURIComponent(old)}`)).status).toBe(404);
    expect((await api('GET', `/users/${encodeURIComponent(user)}`)).status).toBe(404);
    expect((await api('GET', `/vhosts/${encodeURIComponent(young)}`)).status).toBe(200);
  });
});
