import { createServer } from 'node:net';

function onePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Ports the OS considers free right now, all distinct. Processes that must be told their
 * port before they start (services, broker nodes, PostgreSQL) get one of these, so the
 * suite never collides with the shared instances, `npm start` or a parallel test.
 */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await onePort();
    if (!RESERVED.some(([lo, hi]) => port >= lo && port <= hi)) ports.add(port);
  }
  return [...ports];
}

/** Ranges other tools take later without asking: rabbitmqctl's distribution ports. */
const RESERVED: readonly (readonly [number, number])[] = [[35672, 35682]];
