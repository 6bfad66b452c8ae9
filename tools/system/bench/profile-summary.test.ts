import { describe, expect, it } from 'vitest';
import { summarise } from './profile-summary.js';
import type { Profile } from './profile-summary.js';

// root -> payment's handler -> pg's submit -> writev (native); root -> GC; root -> idle.
const profile: Profile = {
  nodes: [
    { id: 1, children: [2, 5, 6], callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
    {
      id: 2,
      children: [3],
      callFrame: { functionName: 'authorize', url: 'file:///x/services/payment/dist/a.js', lineNumber: 9 },
    },
    {
      id: 3,
      children: [4],
      callFrame: { functionName: 'submit', url: 'file:///x/node_modules/pg/lib/query.js', lineNumber: 150 },
    },
    { id: 4, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
    { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    { id: 6, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
  ],
  // 1 s of start-up in payment's own code, then writev 3 s, GC 1 s, payment 1 s, idle 4 s.
  samples: [2, 4, 4, 4, 5, 2, 6, 6, 6, 6],
  timeDeltas: Array.from({ length: 10 }, () => 1_000_000),
};

describe('summarise', () => {
  it('charges a native call to the package that made it, and keeps the VM entries apart', () => {
    const s = summarise(profile);
    expect(s.busyMs).toBe(6000);
    expect(s.idleShare).toBeCloseTo(0.4);
    const { packages, callers, functions } = s.top(5);
    expect(packages).toContainEqual({ name: '(native, GC)', share: 4 / 6 });
    expect(callers).toEqual([
      { name: 'pg', share: 3 / 6 },
      { name: '@notify/payment', share: 2 / 6 },
      { name: '(native, GC)', share: 1 / 6 },
    ]);
    expect(functions[0]).toEqual({ name: 'writev ', share: 3 / 6 });
  });

  it('leaves out the first seconds when asked', () => {
    const s = summarise(profile, 1_500_000);
    expect(s.busyMs).toBe(5000);
    expect(s.top(5).callers).toContainEqual({ name: '@notify/payment', share: 1 / 5 });
  });
});
