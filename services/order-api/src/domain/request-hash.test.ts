import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from './request-hash.js';

describe('requestHash', () => {
  it('ignores key order and whitespace, at every depth', () => {
    const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: 'x' } };
    const b = JSON.parse('{ "a": { "x": "x", "y": [1, { "p": 2, "q": 1 }] }, "b": 1 }');
    expect(canonicalJson(a)).toBe('{"a":{"x":"x","y":[1,{"p":2,"q":1}]},"b":1}');
    expect(requestHash(a)).toBe(requestHash(b));
  });

  it('tells apart different values and different array orders', () => {
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: '1' }));
    expect(requestHash({ a: null })).not.toBe(requestHash({}));
  });
});
