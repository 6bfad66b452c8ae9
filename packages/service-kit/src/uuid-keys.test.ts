import { describe, expect, it } from 'vitest';
import { byUuid } from './uuid-keys.js';

describe('byUuid', () => {
  it('finds a row under the lower-case id and under every spelling asked for, and nothing else', () => {
    const row = { id: 'aaaaaaaa-0000-4000-8000-00000000000a' };
    const map = byUuid([row], (r) => r.id, [
      'AAAAAAAA-0000-4000-8000-00000000000A',
      'bbbbbbbb-0000-4000-8000-00000000000b',
    ]);
    expect(map.get('aaaaaaaa-0000-4000-8000-00000000000a')).toBe(row);
    expect(map.get('AAAAAAAA-0000-4000-8000-00000000000A')).toBe(row);
    expect(map.has('bbbbbbbb-0000-4000-8000-00000000000b')).toBe(false);
  });
});
