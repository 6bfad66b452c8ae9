import { describe, expect, it } from 'vitest';
import { apiClients, OPERATOR_SCOPE, parseApiKeys, unnamedClientId } from './api-clients.js';
import { apiKeyVerifier } from './api-key-auth.js';

const FIRST = 'first-key-0123456789';
const SECOND = 'second-key-abcdefghij';

describe('apiKeyVerifier', () => {
  const clients = apiClients(parseApiKeys(`shop-eu=${FIRST},${SECOND}`), ['shop-eu']);
  const verifier = apiKeyVerifier(clients);

  it('knows every configured key as its client, named or by a hash that does not contain the key', () => {
    expect(verifier.verify(FIRST)).toMatchObject({ id: 'shop-eu', scopes: [OPERATOR_SCOPE] });
    const unnamed = verifier.verify(SECOND);
    expect(unnamed?.id).toMatch(/^key-[0-9a-f]{12}$/);
    expect(unnamed?.id).toBe(unnamedClientId(SECOND));
    expect(unnamed?.scopes).toEqual([]);
  });

  it('refuses anything else, including prefixes and extensions of a key', () => {
    for (const wrong of [
      '',
      'first-key-012345678',
      'first-key-0123456789x',
      'FIRST-KEY-0123456789',
      `shop-eu=${FIRST}`,
    ]) {
      expect(verifier.verify(wrong)).toBeNull();
    }
  });
});

describe('parseApiKeys', () => {
  it('reads named and bare keys, separated by commas or lines, with comment lines in files', () => {
    expect(parseApiKeys(` shop-eu = ${FIRST} ,\n# the US shop\nshop-us=${SECOND}\n\n${SECOND}x==`)).toEqual([
      { name: 'shop-eu', key: FIRST },
      { name: 'shop-us', key: SECOND },
      { name: null, key: `${SECOND}x==` },
    ]);
  });

  it('refuses short keys, bad or reserved names, and never puts a key in its message', () => {
    const failures = [`shop=short`, `shop eu=${FIRST}`, `anonymous=${FIRST}`, `key-1=${FIRST}`, 'tooshort'];
    for (const input of failures) {
      let message = '';
      try {
        parseApiKeys(input);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, input).not.toBe('');
      expect(message).not.toContain(FIRST);
      expect(message).not.toContain('short');
    }
  });
});

describe('apiClients', () => {
  it('refuses a repeated name or key, and operators that name no client', () => {
    expect(() => apiClients(parseApiKeys(`a=${FIRST},a=${SECOND}`), [])).toThrow(/listed twice/);
    expect(() => apiClients(parseApiKeys(`a=${FIRST},b=${FIRST}`), [])).toThrow(/another client's key/);
    expect(() => apiClients(parseApiKeys(`a=${FIRST}`), ['ops'])).toThrow(/names no client of API_KEYS: ops/);
  });

  it('gives the operator scope to an unnamed client by its key-<hash> id', () => {
    const [client] = apiClients(parseApiKeys(FIRST), [unnamedClientId(FIRST)]);
    expect(client?.scopes).toEqual([OPERATOR_SCOPE]);
  });
});
