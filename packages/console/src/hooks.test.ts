import { describe, expect, it } from 'vitest';
import { routeOf } from './hooks.js';

describe('routes', () => {
  it('takes the view from the fragment and falls back to orders', () => {
    expect(routeOf('#/system')).toBe('system');
    expect(routeOf('#/dead-letters')).toBe('dead-letters');
    expect(routeOf('')).toBe('orders');
    expect(routeOf('#/elsewhere')).toBe('orders');
  });
});
