import { CHANNELS, SERVICE_NAMES } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { loadScratchBroker, management } from '@notify/infra-check/testing';
import type { ScratchBroker } from '@notify/infra-check/testing';
import { startMailCatcher } from '@notify/mail-catcher';
import { waitFor } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followOrder } from './follow-order.js';
import { OrderApiClient } from './order-client.js';
import { sampleOrder } from './sample-order.js';
import { standInUrls, startStack } from './stack.js';
import type { ServiceEnv, Stack } from './stack.js';
import { freePortsFor } from './tcp-ports.js';

// The whole system as compose and Kubernetes run it on the broker: each service logs in as
// its own least-privilege user from infra/rabbitmq/definitions.json (loaded into a scratch
// vhost, users renamed for this run), with TOPOLOGY=verify, on a vhost whose topology only
// the definitions import created; the order API believes each channel's events only from
// that channel's user (CHANNEL_OWNERS). Nothing here runs as guest.

describe('the whole system with the deployable broker users', () => {
  const closers: (() => Promise<unknown>)[] = [];
  let broker: ScratchBroker;
  let stack: Stack;

  beforeAll(async () => {
    broker = await loadScratchBroker('system-users');
    closers.push(() => broker.delete());
    const database = await createTestDatabase('system_users');
    closers.push(() => database.drop());
    const mail = await startMailCatcher();
    closers.push(() => mail.close());
    const sandbox = await startWhatsappSandbox();
    closers.push(() => sandbox.close());
    const serviceEnv: ServiceEnv = Object.fromEntries(
      SERVICE_NAMES.map((name) => [name, { AMQP_URL: broker.url(name), TOPOLOGY: 'verify' }]),
    );
    serviceEnv['order-api'] = {
      ...serviceEnv['order-api'],
      CHANNEL_OWNERS: CHANNELS.map((c) => `${c}=${broker.userName(c)}`).join(','),
    };
    stack = await startStack({
      // Every service's AMQP_URL is its own user's (serviceEnv); this one is never used.
      amqpUrl: broker.url('keda'),
      databaseUrl: database.url,
      ...standInUrls(mail, sandbox),
      ports: await freePortsFor(SERVICE_NAMES),
      env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      serviceEnv,
    });
    closers.push(() => stack.stop());
  });

  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });

  it('is connected to the broker as the six service users only', async () => {
    const expected = SERVICE_NAMES.map((n: ServiceName) => broker.userName(n)).sort();
    // The management API lists a connection once the broker has emitted its statistics.
    const users = await waitFor(
      async () => {
        const r = await management('GET', `/vhosts/${encodeURIComponent(broker.vhost)}/connections`);
        const found = [...new Set(((await r.json()) as { user: string }[]).map((c) => c.user))].sort();
        return found.length >= expected.length ? found : undefined;
      },
      { timeoutMs: 60_000, what: 'every service connected' },
    );
    expect(users).toEqual(expected);
  });

  it('takes an order and sees every channel succeed and the order complete', async () => {
    const api = new OrderApiClient(stack.apiUrl);
    const placed = await api.postOrder(sampleOrder());
    const result = await followOrder(api, placed.id, { timeoutMs: 180_000 });
    for (const channel of CHANNELS) expect(result.order.channels[channel].state, channel).toBe('succeeded');
    expect(result.order.status).toBe('completed');
  });
});
