import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';

/** Ranges other tools take later without asking: rabbitmqctl's distribution ports. */
const RESERVED: readonly (readonly [number, number])[] = [[35672, 35682]];

const reserved = (port: number) => RESERVED.some(([lo, hi]) => port >= lo && port <= hi);

/**
 * Ports the OS says are free right now, all different and outside RESERVED. Processes
 * that must be told their port before they start (services, broker nodes, PostgreSQL)
 * get one of these, so a run never collides with the shared instances, `npm start` or a
 * parallel test. Every port is held until all are found, so none is handed out twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('no port bound');
      if (!reserved(address.port)) ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Listens on `port`; resolves with the server, or undefined when the port is taken. */
function hold(port: number, host: string): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => resolve(server));
  });
}

/**
 * The first of `count` consecutive ports that are all free right now (held together while
 * checked), for a program that takes one base port and counts up from it, as `npm start`
 * does with PORT_BASE.
 */
export async function freePortRange(count: number, host = '127.0.0.1', attempts = 50): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const [base] = await freePorts(1, host);
    const range = Array.from({ length: count }, (_, i) => base! + i);
    if (range.at(-1)! > 65_535 || range.some(reserved)) continue;
    const held = await Promise.all(range.map((port) => hold(port, host)));
    await Promise.all(held.map((s) => s && new Promise((resolve) => s.close(resolve))));
    if (held.every(Boolean)) return base!;
  }
  throw new Error(`no ${count} consecutive free ports found in ${attempts} attempts`);
}

/** One free port for each name, e.g. the `ports` of a stack on a busy machine. */
export async function freePortsFor<N extends string>(names: readonly N[]): Promise<Record<N, number>> {
  const ports = await freePorts(names.length);
  return Object.fromEntries(names.map((n, i) => [n, ports[i]!])) as Record<N, number>;
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export function acceptsConnections(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
