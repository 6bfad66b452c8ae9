import { describe, expect, it } from 'vitest';
import { apiKeyVerifier } from './api-key-auth.js';

describe('apiKeyVerifier', () => {
  const keys = ['first-key-0123456789', 'second-key-abcdefghij'];
  const verifier = apiKeyVerifier(keys);

  it('knows every configured key by a stable id that does not contain the key', () => {
    const a = verifier.verify(keys[0]!);
    const b = verifier.verify(keys[1]!);
    expect(a).toMatch(/^key-[0-9a-f]{12}$/);
    expect(b).toMatch(/^key-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    expect(verifier.verify(keys[0]!)).toBe(a);
  });

  it('refuses anything else, including prefixes and extensions of a key', () => {
    for (const wrong of ['', 'first-key-012345678', 'first-key-0123456789x', 'FIRST-KEY-0123456789']) {
      expect(verifier.verify(wrong)).toBeNull();
    }
  });
});
