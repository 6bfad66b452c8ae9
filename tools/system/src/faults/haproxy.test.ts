import { describe, expect, it } from 'vitest';
import { haproxyConfig } from './haproxy.js';

describe('HAProxy in front of the private cluster', () => {
  const cfg = haproxyConfig({
    dir: '/tmp/x',
    port: 40000,
    backends: [
      { name: 'node0', port: 40001 },
      { name: 'node1', port: 40002 },
    ],
  });

  it('balances raw TCP round robin over health-checked nodes on loopback only', () => {
    expect(cfg).toContain('mode tcp');
    expect(cfg).toContain('bind 127.0.0.1:40000');
    expect(cfg).toContain('balance roundrobin');
    expect(cfg).toContain('server node0 127.0.0.1:40001 check');
    expect(cfg).toContain('server node1 127.0.0.1:40002 check');
  });

  it('cuts the sessions of a node marked down so clients reconnect elsewhere at once', () => {
    expect(cfg).toMatch(/default-server .*on-marked-down shutdown-sessions/);
  });
});
