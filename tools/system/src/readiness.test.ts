import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { probeReadiness, readinessOf } from './readiness.js';
import { freePorts } from './tcp-ports.js';

describe("a service's /readyz answer", () => {
  it('200 with every check passing is ready, with nothing to note', () => {
    expect(readinessOf(200, '{"status":"ready","checks":{"broker":true,"database":true}}')).toEqual({
      ready: true,
    });
  });

  it('503 names the failing checks', () => {
    expect(
      readinessOf(503, '{"status":"not ready","checks":{"broker":false,"database":true,"consumer":false}}'),
    ).toEqual({ ready: false, reason: '/readyz answers 503 "not ready", failing: broker, consumer' });
  });

  it("200 with a failing check is ready with a note: the order API's degraded answer", () => {
    expect(readinessOf(200, '{"status":"degraded","checks":{"database":true,"broker":false}}')).toEqual({
      ready: true,
      note: '/readyz answers 200 "degraded", failing: broker',
    });
  });

  it('an answer that is not ours is shown as short text on one line, without control characters', () => {
    const result = readinessOf(404, `Not\r\nFound \u001b[2J${'x'.repeat(500)}`);
    expect(result.ready).toBe(false);
    const reason = result.ready ? '' : result.reason;
    expect(reason).toMatch(/^\/readyz answers 404: Not Found \[2Jx+$/);
    expect(reason.length).toBeLessThan(250);
  });
});

describe('probing /readyz', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  async function serve(status: number, body: string): Promise<string> {
    const [port] = await freePorts(1);
    server = createServer((req, res) => {
      res.writeHead(req.url === '/readyz' ? status : 404, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${port}`;
  }

  it('reads the answer of a listening service', async () => {
    const url = await serve(503, '{"status":"not ready","checks":{"database":false}}');
    expect(await probeReadiness(url)).toEqual({
      ready: false,
      reason: '/readyz answers 503 "not ready", failing: database',
    });
  });

  it('says when nothing listens on the port yet', async () => {
    const [port] = await freePorts(1);
    expect(await probeReadiness(`http://127.0.0.1:${port}`)).toEqual({
      ready: false,
      reason: '/readyz: connection refused (not listening yet)',
    });
  });

  it('gives up on a service that accepts the request but does not answer', async () => {
    const [port] = await freePorts(1);
    server = createServer(() => undefined);
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    expect(await probeReadiness(`http://127.0.0.1:${port}`, 200)).toEqual({
      ready: false,
      reason: '/readyz: no answer within 200 ms',
    });
    server.closeAllConnections();
  });
});
