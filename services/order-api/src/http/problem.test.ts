import { describe, expect, it } from 'vitest';
import { problemFor } from './problem.js';

describe('problemFor', () => {
  it('turns unexpected errors into a bare 500 without their message', () => {
    const p = problemFor(new Error('relation "secret_table" does not exist'));
    expect(p.status).toBe(500);
    expect(p.options.detail).not.toContain('secret_table');
  });

  it('answers 503 with Retry-After when the database is unavailable', () => {
    const p = problemFor(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }),
    );
    expect(p.status).toBe(503);
    expect(p.options.headers).toEqual({ 'retry-after': '5' });
    expect(p.options.detail).not.toContain('10.0.0.5');
  });
});
