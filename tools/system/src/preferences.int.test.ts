import { waitFor } from '@notify/messaging/testing';
import { computeTwilioSignature, NOT_ON_WHATSAPP_NUMBER } from '@notify/whatsapp-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderView } from './order-client.js';
import { sampleOrder } from './sample-order.js';
import type { OrderRequest } from './sample-order.js';
import { startLocalSystem } from './test-support/local-system.js';
import type { LocalSystem } from './test-support/local-system.js';

// Customer preferences through the whole system, six processes: an opt-out set through
// the API, through an email's one-click unsubscribe link and through a WhatsApp STOP
// reaches the services, the order sends nothing on that channel and still completes;
// a number that is not on WhatsApp gets its notification as exactly one SMS.

let sys: LocalSystem;

beforeAll(async () => {
  sys = await startLocalSystem({ prefix: 'system-prefs' });
});
afterAll(async () => {
  await sys?.close();
});

async function completed(body: OrderRequest): Promise<OrderView> {
  const accepted = await sys.api.postOrder(body);
  return waitFor(
    async () => {
      const view = await sys.api.getOrder(accepted.id);
      return view.status === 'completed' ? view : null;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `order ${accepted.id} completed` },
  );
}

const mailsTo = (address: string) =>
  sys.mail.messages().filter((m) => m.to.some((t) => t.address === address));
const whatsappTo = (number: string) =>
  sys.sandbox.messages().filter((m) => m.to.replace(/^whatsapp:/, '') === number);

/** A copy in the email or whatsapp service's schema has caught up with the API. */
async function copied(schema: 'email' | 'whatsapp', customerKey: string, version: number) {
  await waitFor(
    async () => {
      const r = await sys.db.query<{ version: string }>(
        `SELECT version FROM ${schema}.customer_preferences WHERE customer_key = $1`,
        [customerKey],
      );
      return Number(r.rows[0]?.version ?? 0) >= version;
    },
    { timeoutMs: 60_000, what: `${schema}'s copy of ${customerKey} at version ${version}` },
  );
}

describe('customer preferences end to end', () => {
  it('an opt-out of both channels through the API: nothing is sent on either, and the order completes', async () => {
    const put = await fetch(`${sys.stack.apiUrl}/customers/cust-e2e-1/preferences`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: { optedOut: true }, whatsapp: { optedOut: true } }),
    });
    expect(put.status).toBe(200);
    await copied('email', 'cust-e2e-1', 1);
    await copied('whatsapp', 'cust-e2e-1', 1);
    const body = sampleOrder({ reference: 'cust-e2e-1' });
    const view = await completed(body);
    for (const channel of ['email', 'whatsapp'] as const) {
      expect(view.channels[channel]).toMatchObject({
        state: 'succeeded',
        details: { skipped: { reason: expect.stringContaining('opted out') as string } },
      });
    }
    expect(view.channels.logistic.state).toBe('succeeded');
    expect(mailsTo(body.customer.email)).toEqual([]);
    expect(whatsappTo(body.customer.phone)).toEqual([]);
  });

  it("the email's one-click unsubscribe link: the next order sends no email and completes", async () => {
    const first = sampleOrder();
    await completed(first);
    const [mail] = mailsTo(first.customer.email);
    expect(mail?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const link = /<([^>]+)>/.exec(mail?.headers['list-unsubscribe'] ?? '')?.[1] ?? '';
    // The local run points the link at this order API.
    const url = new URL(link);
    const res = await fetch(`${sys.stack.apiUrl}${url.pathname}${url.search}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    await copied('email', first.customer.email, 1);
    const second = await completed({ ...sampleOrder(), customer: first.customer });
    expect(second.channels.email.details).toMatchObject({ skipped: expect.anything() as unknown });
    expect(mailsTo(first.customer.email)).toHaveLength(1);
    // WhatsApp is another channel: it still went out.
    expect(second.channels.whatsapp.details).not.toHaveProperty('skipped');
  });

  it('a WhatsApp STOP to the signed webhook: the next order sends nothing to the number and completes', async () => {
    const body = sampleOrder();
    const whatsapp = sys.stack.get('whatsapp');
    const inboundUrl = `http://127.0.0.1:${whatsapp.options.port}/twilio/inbound`;
    const params = { From: `whatsapp:${body.customer.phone}`, To: 'whatsapp:+14155238886', Body: 'STOP' };
    const res = await fetch(inboundUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': computeTwilioSignature(sys.sandbox.authToken, inboundUrl, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(res.status).toBe(200);
    const view = await completed(body);
    expect(view.channels.whatsapp.details).toMatchObject({ skipped: expect.anything() as unknown });
    expect(whatsappTo(body.customer.phone)).toEqual([]);
    expect(mailsTo(body.customer.email)).toHaveLength(1);
  });

  it('a number the sandbox says is not on WhatsApp gets exactly one SMS, and the order completes', async () => {
    const body = sampleOrder({ phone: NOT_ON_WHATSAPP_NUMBER });
    const view = await completed(body);
    expect(view.channels.whatsapp.details).toMatchObject({ via: 'sms' });
    const sms = whatsappTo(NOT_ON_WHATSAPP_NUMBER).filter((m) => m.channel === 'sms');
    expect(sms).toHaveLength(1);
    expect(sms[0]?.body).toContain(String(view.reference));
  });
});
