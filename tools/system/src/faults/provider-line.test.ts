import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderLine } from './provider-line.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function echoServer(): Promise<number> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

function roundTrip(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('ping'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
  });
}

describe('provider line', () => {
  it('forwards, refuses connections and drops live ones while cut, and forwards again on the same port', async () => {
    const target = await echoServer();
    const line = await ProviderLine.open(`smtp://127.0.0.1:${target}`);
    closers.push(() => line.cut());
    const port = Number(new URL(line.urlFor(`smtp://127.0.0.1:${target}`)).port);
    expect(port).not.toBe(target);
    expect(await roundTrip(port)).toBe('ping');

    const live = net.connect(port, '127.0.0.1');
    await new Promise((r) => live.once('connect', r));
    const dropped = new Promise((r) => live.once('close', r));
    await line.cut();
    expect(line.isCut).toBe(true);
    await dropped;
    await expect(roundTrip(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await line.restore();
    expect(line.urlFor('http://127.0.0.1:1/2010-04-01')).toBe(`http://127.0.0.1:${port}/2010-04-01`);
    expect(await roundTrip(port)).toBe('ping');
  });
});
