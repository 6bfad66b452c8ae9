import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import { DEV_UNSUBSCRIBE_SECRET, signUnsubscribeToken } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from './server.js';
import { startTestApi } from './test-support/test-api.js';

// Customer preferences through the API and through an email's unsubscribe link: kept per
// client, and every change fanned out to the email and whatsapp services' copies.

const EU = 'eu-key-0123456789abcdef';
const US = 'us-key-0123456789abcdef';

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-prefs'), createTestDatabase('order_prefs')]);
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    API_KEYS: `shop-eu=${EU},shop-us=${US}`,
    PREFERENCES_REPUBLISH_INTERVAL: '500',
  });
  await api.broker.waitUntilConnected();
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const both = (email: boolean, whatsapp: boolean) => ({
  email: { optedOut: email },
  whatsapp: { optedOut: whatsapp },
});

/** Every preferences message that reached a copy's queue, in order. */
const copies: Record<string, PeekedMessage[]> = { 'email.preferences': [], 'whatsapp.preferences': [] };
async function drained(queue: string, count: number): Promise<PeekedMessage[]> {
  return waitFor(
    async () => {
      copies[queue]!.push(...(await vh.take(queue, 50)));
      return copies[queue]!.length >= count ? copies[queue] : undefined;
    },
    { timeoutMs: 30_000, what: `${count} messages on ${queue}` },
  );
}
const bodies = (messages: PeekedMessage[]) =>
  messages.map((m) => JSON.parse(m.payload) as Record<string, unknown>);

describe('customer preferences through the API', () => {
  it('are set and read per client, published whole to both copies, and a repeated PUT changes nothing', async () => {
    const put = await api.app.inject({
      method: 'PUT',
      url: '/customers/cust-42/preferences',
      headers: as(EU),
      payload: both(true, false),
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({
      customer: 'cust-42',
      ...both(true, false),
      source: 'api',
      version: 1,
    });

    const again = await api.app.inject({
      method: 'PUT',
      url: '/customers/cust-42/preferences',
      headers: as(EU),
      payload: both(true, false),
    });
    expect(again.json()).toMatchObject({ version: 1 });

    const mine = await api.app.inject({ url: '/customers/cust-42/preferences', headers: as(EU) });
    expect(mine.json()).toMatchObject(both(true, false));
    // Another client's customer of the same reference is another customer.
    const theirs = await api.app.inject({ url: '/customers/cust-42/preferences', headers: as(US) });
    expect(theirs.statusCode).toBe(404);

    for (const queue of ['email.preferences', 'whatsapp.preferences']) {
      const [message] = bodies(await drained(queue, 1));
      expect(message).toMatchObject({
        subscriber: { client: 'shop-eu', customerKey: 'cust-42' },
        ...both(true, false),
        version: 1,
      });
    }
    // The repeated PUT published nothing more.
    expect(await vh.take('email.preferences', 10)).toEqual([]);
  });

  it('key an email address without case, and refuse a customer that is none of reference, email or phone', async () => {
    const put = await api.app.inject({
      method: 'PUT',
      url: '/customers/Ada@Example.com/preferences',
      headers: as(EU),
      payload: both(false, true),
    });
    expect(put.statusCode, put.body).toBe(200);
    const get = await api.app.inject({ url: '/customers/ada@example.com/preferences', headers: as(EU) });
    expect(get.json()).toMatchObject({ customer: 'ada@example.com', ...both(false, true) });

    for (const ref of ['not%20a%20ref', '%2B12', 'a'.repeat(80)]) {
      const bad = await api.app.inject({ url: `/customers/${ref}/preferences`, headers: as(EU) });
      expect(bad.statusCode, ref).toBe(400);
    }
    const extra = await api.app.inject({
      method: 'PUT',
      url: '/customers/cust-43/preferences',
      headers: as(EU),
      payload: { ...both(true, true), sms: { optedOut: true } },
    });
    expect(extra.statusCode).toBe(400);
    const partial = await api.app.inject({
      method: 'PUT',
      url: '/customers/cust-43/preferences',
      headers: as(EU),
      payload: { email: { optedOut: true } },
    });
    expect(partial.statusCode).toBe(400);
    const anonymous = await api.app.inject({ url: '/customers/cust-42/preferences' });
    expect(anonymous.statusCode).toBe(401);
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  const token = signUnsubscribeToken(
    { client: 'shop-eu', customerKey: 'grace@example.com', channel: 'email' },
    DEV_UNSUBSCRIBE_SECRET,
  );
  const url = `/unsubscribe?token=${encodeURIComponent(token)}`;

  it('shows a confirmation page on GET and changes nothing', async () => {
    const page = await api.app.inject({ url });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('method="post"');
    const prefs = await api.app.inject({ url: '/customers/grace@example.com/preferences', headers: as(EU) });
    expect(prefs.statusCode).toBe(404);
  });

  it('opts the customer out of email for the client of the mail, without an API key; a second POST changes nothing', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await api.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const prefs = await api.app.inject({ url: '/customers/grace@example.com/preferences', headers: as(EU) });
    expect(prefs.json()).toMatchObject({ ...both(true, false), source: 'unsubscribe-link', version: 1 });
    const published = bodies(await drained('email.preferences', 3)).filter(
      (m) => (m['subscriber'] as { customerKey: string }).customerKey === 'grace@example.com',
    );
    // One change, version 1. The sweep may publish a change once more while its confirm is
    // being recorded (the same message id; the copies keep the highest version), so the
    // versions are counted, not the copies.
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(new Set(published.map((m) => m['version']))).toEqual(new Set([1]));
    // A multipart body, as RFC 8058 prefers, works the same.
    const multipart = await api.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n',
    });
    expect(multipart.statusCode).toBe(200);
  });

  it('refuses a token that was altered or signed with another secret', async () => {
    const forged = signUnsubscribeToken(
      { client: 'shop-eu', customerKey: 'grace@example.com', channel: 'email' },
      'some-other-secret-of-at-least-32-chars',
    );
    for (const t of [forged, `${token.slice(0, -3)}abc`, 'u1.x.y']) {
      const res = await api.app.inject({
        method: 'POST',
        url: `/unsubscribe?token=${encodeURIComponent(t)}`,
      });
      expect(res.statusCode, t).toBe(400);
    }
  });
});
