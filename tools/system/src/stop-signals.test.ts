import { describe, expect, it } from 'vitest';
import { stopSignalPolicy } from './stop-signals.js';

describe('stop signals', () => {
  it("the first stops; npm's copy of the same Ctrl-C, a moment later, changes nothing", () => {
    let now = 1_000;
    const request = stopSignalPolicy(1_000, () => now);
    expect(request()).toBe('stop');
    now += 5;
    expect(request()).toBe('same');
  });

  it('a second Ctrl-C, after that moment, asks to leave now', () => {
    let now = 1_000;
    const request = stopSignalPolicy(1_000, () => now);
    expect(request()).toBe('stop');
    now += 1_000;
    expect(request()).toBe('now');
    now += 5_000;
    expect(request()).toBe('now');
  });
});
