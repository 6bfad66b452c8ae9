import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { acceptsConnections, freePortRange, freePorts, freePortsFor } from './tcp-ports.js';

function listen(port: number) {
  const server = createServer((socket) => socket.end());
  return new Promise<typeof server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('free ports', () => {
  it('are all different, outside the rabbitmqctl distribution range, and can be bound', async () => {
    const ports = await freePorts(12);
    expect(new Set(ports).size).toBe(12);
    for (const port of ports) expect(port < 35672 || port > 35682).toBe(true);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('come one per name', async () => {
    const ports = await freePortsFor(['order-api', 'email'] as const);
    expect(Object.keys(ports)).toEqual(['order-api', 'email']);
    expect(ports['order-api']).not.toBe(ports.email);
  });
});

describe('a free port range', () => {
  it('is that many consecutive ports that can all be bound, outside the rabbitmqctl range', async () => {
    const base = await freePortRange(6);
    const ports = Array.from({ length: 6 }, (_, i) => base + i);
    for (const port of ports) expect(port < 35672 || port > 35682).toBe(true);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });
});

describe('acceptsConnections', () => {
  it('tells a listening port from one nobody listens on', async () => {
    const [port] = await freePorts(1);
    const server = await listen(port!);
    expect(await acceptsConnections('127.0.0.1', port!)).toBe(true);
    await new Promise((r) => server.close(r));
    expect(await acceptsConnections('127.0.0.1', port!)).toBe(false);
  });
});
