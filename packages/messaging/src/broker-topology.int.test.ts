import { fullTopology } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { Broker } from './broker.js';
import { brokerHarness } from './test-harness.js';

const h = brokerHarness('msg-topology');

describe('topology added while the broker connects', () => {
  it('is declared whenever it was added: before, during or after the connection setup', async () => {
    // The system's whole topology makes the setup take as long as it does in a service.
    const broker = await Broker.connect({
      url: h.vh.url,
      connectionName: 'topology-race',
      topology: fullTopology(),
    });
    h.cleanup(() => broker.close());
    // Queues added every few milliseconds from before the first connection attempt until
    // a few after it is up (at most 400), so some land while its setup is declaring.
    const names: string[] = [];
    let afterConnected = 0;
    for (let i = 0; i < 400 && afterConnected < 5; i++) {
      const name = `added.${i}`;
      names.push(name);
      await broker.addTopology({ queues: [{ name, arguments: { 'x-queue-type': 'classic' } }] });
      if (broker.isReady()) afterConnected++;
      await new Promise((r) => setTimeout(r, 5));
    }
    await broker.waitUntilConnected();
    const existing = new Set((await h.vh.queues()).map((q) => q.name));
    expect(names.filter((n) => !existing.has(n))).toEqual([]);
  });
});
