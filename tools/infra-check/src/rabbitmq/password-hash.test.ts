import { describe, expect, it } from 'vitest';
import { rabbitPasswordHash, rabbitPasswordMatches } from './password-hash.js';

describe('RabbitMQ password hashes', () => {
  it("match the worked example of RabbitMQ's documentation", () => {
    expect(rabbitPasswordHash('test12', Buffer.from('908DC60A', 'hex'))).toBe(
      'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR',
    );
  });

  it('use a fresh salt each time and verify only the right password', () => {
    const a = rabbitPasswordHash('s3cret');
    expect(a).not.toBe(rabbitPasswordHash('s3cret'));
    expect(rabbitPasswordMatches('s3cret', a)).toBe(true);
    expect(rabbitPasswordMatches('s3cret!', a)).toBe(false);
    expect(rabbitPasswordMatches('s3cret', '')).toBe(false);
  });
});
