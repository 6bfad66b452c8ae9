import { CHANNELS, channelConsumers } from '@notify/contracts';
import { clientNote, everyServiceReady, loadAroundFault, outage } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario } from './scenario.js';

/** The channels' work queues, whose leaders decide which node is worth killing. */
const WORK_QUEUES = new Set<string>(CHANNELS.map((c) => channelConsumers[c].queue.name));

export const clusterNodeKill: Scenario = {
  id: 8,
  title: '3-node cluster (quorum queues): a node killed and brought back',
  async run(ctx) {
    const queues = await ctx.broker.queues(true);
    const work = queues.filter((q) => WORK_QUEUES.has(q.name));
    const leaders = new Map<string, number>();
    for (const q of work) if (q.leader) leaders.set(q.leader, (leaders.get(q.leader) ?? 0) + 1);
    const victimName = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const victim = ctx.broker.nodes.find((n) => n.nodeName === victimName) ?? ctx.broker.nodes[0]!;
    const members = await ctx.broker
      .ctlNode()
      .ctl(['list_queues', '-p', ctx.broker.vhost, 'name', 'members', '--formatter', 'json'])
      .then((out) => JSON.parse(out) as { name: string; members?: string[] }[])
      .catch(() => []);
    const replicated = members.filter((m) => (m.members?.length ?? 0) === ctx.broker.nodes.length).length;

    const load = loadAroundFault(ctx);
    await load.warmedUp();
    ctx.log(`SIGKILL ${victim.nodeName} (leads ${leaders.get(victim.nodeName) ?? 0} work queues)`);
    await outage(
      ctx.profile.nodeDownMs,
      () => victim.kill(),
      () => victim.start(),
    );
    const faultEnd = Date.now();
    const orders = await load.finish();
    const running = await ctx.broker
      .ctlNode()
      .ctl(['cluster_status', '--formatter', 'json'])
      .then((out) => (JSON.parse(out) as { running_nodes?: string[] }).running_nodes ?? [])
      .catch(() => [] as string[]);
    return {
      orders,
      faultEnd,
      windows: [],
      checks: [
        check(
          'queues are quorum queues on every node',
          members.length > 0 && replicated === members.length,
          `${replicated} of ${members.length} queues with ${ctx.broker.nodes.length} members`,
        ),
        check(
          'the killed node rejoined',
          running.includes(victim.nodeName) && running.length === ctx.broker.nodes.length,
          `running: ${running.join(', ')}`,
        ),
        await everyServiceReady(ctx),
      ],
      notes: [clientNote(orders)],
    };
  },
};
