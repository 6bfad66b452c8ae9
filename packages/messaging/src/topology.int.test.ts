import { channelConsumers, fullTopology } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { Broker } from './broker.js';
import { declareTopology } from './declare.js';
import { brokerHarness } from './test-harness.js';

const h = brokerHarness('topology');

describe('topology verify mode', () => {
  it('reports what is missing with passive checks a user without configure permission may make, declares nothing, and sees the topology once a deployment created it', async () => {
    const email = channelConsumers.email;
    const spec = { exchanges: email.exchanges, queues: email.queues, bindings: email.bindings };
    const url = await h.vh.addUser('verifier', { configure: '^$', write: '^$', read: '^$' });
    const broker = await Broker.connect({ url, connectionName: 'verifier', topologyMode: 'verify' });
    h.cleanup(() => broker.close());
    await broker.waitUntilConnected();
    await broker.addTopology(spec);
    const everything = [
      ...email.exchanges.map((e) => `exchange ${e.name}`),
      ...email.queues.map((q) => `queue ${q.name}`),
    ];
    expect([...broker.missingTopology].sort()).toEqual(everything.sort());
    expect(await h.vh.queues()).toEqual([]);

    // The deployment creates the topology (the definitions file does, at broker boot).
    const admin = await Broker.connect({ url: h.vh.url, connectionName: 'admin' });
    h.cleanup(() => admin.close());
    const conn = await admin.waitUntilConnected();
    const ch = await conn.createChannel();
    await declareTopology(ch, fullTopology());
    await ch.close();
    expect(await broker.verifyTopology()).toEqual([]);
    expect(broker.missingTopology).toEqual([]);
  });
});
