import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import { followOrder } from './follow-order.js';
import type { AcceptedOrder } from './order-client.js';
import { sampleOrder } from './sample-order.js';
import type { OrderRequest } from './sample-order.js';
import { schemaOf } from './services.js';
import { launchChromium } from './test-support/chromium.js';
import type { HeadlessChromium } from './test-support/chromium.js';
import { outputDir, startLocalSystem } from './test-support/local-system.js';
import type { LocalSystem } from './test-support/local-system.js';

// The system as `npm start` runs it (processes from built output, the two local
// stand-ins), driven the way a newcomer would: post the sample order, look at what the
// stand-ins received, on their APIs and on their pages in a real browser.

describe('the whole system on a developer machine, with the local stand-ins', () => {
  let sys: LocalSystem;
  let body: OrderRequest;
  let accepted: AcceptedOrder;

  beforeAll(async () => {
    sys = await startLocalSystem({ prefix: 'system-local-run' });
    body = sampleOrder();
    accepted = await sys.api.postOrder(body);
  });

  afterAll(async () => {
    await sys?.close();
  });

  const confirmationMail = () => sys.mail.waitFor((m) => m.envelope.to.includes(body.customer.email), 90_000);
  const whatsappAddress = () => `whatsapp:${body.customer.phone}`;
  /** The sample order's WhatsApp message once the whatsapp service took its delivered callback. */
  const deliveredWhatsapp = () =>
    sys.sandbox.waitFor(
      (m) =>
        m.to === whatsappAddress() &&
        m.callbacks.some((c) => c.status === 'delivered' && c.httpStatus !== null && c.httpStatus < 300),
      90_000,
    );

  it('the sample order reaches the mail catcher as a confirmation with both bodies', async () => {
    const mail = await confirmationMail();
    expect(mail.subject).toBe(`Your order ${accepted.reference} is confirmed`);
    expect(mail.to).toEqual([{ name: body.customer.name, address: body.customer.email }]);
    expect(mail.from[0]?.address).toBe('orders@shop.example');
    expect(mail.text).toContain(accepted.reference);
    expect(mail.text).toContain('Notes on the Analytical Engine');
    expect(mail.html).toContain('Notes on the Analytical Engine');
    expect(sys.mail.messages().filter((m) => m.envelope.to.includes(body.customer.email))).toHaveLength(1);
  });

  it('the sample order reaches the WhatsApp sandbox, and its delivered status is reported back to the whatsapp service', async () => {
    const to = whatsappAddress();
    const message = await deliveredWhatsapp();
    expect(message.statusCallback).toBe(`${sys.stack.get('whatsapp').url}/twilio/status`);
    expect(message.contentVariables).toMatchObject({ '1': body.customer.name, '2': accepted.reference });
    // The whatsapp service recorded the status the callback carried, not only answered it.
    const stored = await sys.db.query<{ status: string }>(
      `SELECT h.status FROM ${schemaOf('whatsapp')}.status_history h JOIN ${schemaOf('whatsapp')}.messages m USING (order_id)
       WHERE m.message_sid = $1 ORDER BY h.seq`,
      [message.sid],
    );
    expect(stored.rows.map((r) => r.status)).toContain('delivered');
    expect(sys.sandbox.messages().filter((m) => m.to === to)).toHaveLength(1);
  });

  it('followed live through GET /orders/:id/events, every channel reaches its final state and the order completes', async () => {
    // A fresh order, followed from the moment it is accepted.
    const placed = await sys.api.postOrder(sampleOrder());
    const result = await followOrder(sys.api, placed.id, { timeoutMs: 120_000 });
    expect(result.via).toBe('events');
    expect(result.events).toBeGreaterThanOrEqual(1);
    for (const channel of CHANNELS) {
      expect(result.order.channels[channel].state, channel).toBe('succeeded');
    }
    expect(result.order.status).toBe('completed');
    expect(result.order.channels.whatsapp.details?.['deliveryStatus']).toMatch(/^(delivered|read)$/);
    expect(result.order.channels.logistic.details?.['trackingNumber']).toEqual(expect.any(String));
    expect(result.order.channels.payment.details?.['authorizationId']).toEqual(expect.any(String));
    expect(result.order.channels.fraud.details?.['decision']).toBe('approve');
  });

  it('an email the SMTP server refuses is dead-lettered and the order needs attention; replayed once the server accepts, it is sent exactly once', async () => {
    const refused = `refused.${Date.now().toString(36)}@example.com`;
    sys.mail.setBehaviour({ rejectRecipients: [refused] });
    const order = await sys.api.postOrder(sampleOrder({ email: refused }));
    const dead = await followOrder(sys.api, order.id, {
      timeoutMs: 120_000,
      until: (o) => o.channels.email.state === 'dead_lettered' && o.status === 'attention',
    });
    const messageId = dead.order.channels.email.messageId;
    expect(messageId).toEqual(expect.any(String));
    expect(JSON.stringify(dead.order.channels.email.details?.['deadLetter'])).toContain('550');

    const listed = await waitFor(
      async () => {
        const overview = await sys.api.deadLetters();
        const email = overview.services.find((s) => s.service === 'email');
        return email && email.count >= 1 ? email : null;
      },
      { timeoutMs: 30_000, what: 'the email dead letter listed' },
    );
    expect(listed.reasons.map((r) => r.reason)).toContain('permanent-failure');

    // The cause is fixed: the server accepts the address again. Replay that one message.
    sys.mail.setBehaviour({});
    const replay = await sys.api.replayDeadLetters('email', [messageId!]);
    expect(replay.notFound).toEqual([]);
    expect(replay.replayed.map((l) => l.orderId)).toEqual([order.id]);
    const healed = await followOrder(sys.api, order.id, {
      timeoutMs: 120_000,
      until: (o) => o.channels.email.state === 'succeeded' && o.status === 'completed',
    });
    expect(healed.order.channels.email.details?.['replays']).toBe(1);
    expect(sys.mail.messages().filter((m) => m.envelope.to.includes(refused))).toHaveLength(1);
    const after = await sys.api.deadLetters();
    expect(after.services.find((s) => s.service === 'email')?.count).toBe(0);
  });

  describe('the stand-ins pages, in headless Chromium', () => {
    let browser: HeadlessChromium;
    const shots: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      if (shots.length) process.stdout.write(`screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}\n`);
    });

    it('the mail catcher lists the confirmation and shows its HTML and text bodies', async () => {
      const mail = await confirmationMail();
      const page = await browser.context.newPage();
      const dir = outputDir('local-run');

      const inbox = await page.goto(sys.mail.httpUrl, { waitUntil: 'load' });
      expect(inbox?.status()).toBe(200);
      const row = page.locator('tbody tr', { hasText: accepted.reference });
      await row.waitFor();
      expect(await row.innerText()).toContain(body.customer.email);
      shots.push(`${dir}/mail-catcher-inbox.png`);
      await page.screenshot({ path: shots.at(-1)!, fullPage: true });

      await row.locator('a').click();
      await page.waitForURL(`**/messages/${mail.id}`);
      expect(await page.locator('dl.meta').innerText()).toContain(
        `Your order ${accepted.reference} is confirmed`,
      );
      expect(await page.locator('pre').first().innerText()).toContain(accepted.reference);
      // The HTML body is rendered inside its sandboxed frame, not shown as source.
      const frame = page.frameLocator('iframe[title="HTML body"]');
      await expect
        .poll(() => frame.locator('body').innerText(), { timeout: 10_000 })
        .toContain('Notes on the Analytical Engine');
      shots.push(`${dir}/mail-catcher-message.png`);
      await page.screenshot({ path: shots.at(-1)!, fullPage: true });
      await page.close();
    });

    it('the WhatsApp sandbox page shows the message with its delivered status and the callback answers', async () => {
      const to = whatsappAddress();
      const message = await deliveredWhatsapp();
      const page = await browser.context.newPage();
      const response = await page.goto(sys.sandbox.url, { waitUntil: 'load' });
      expect(response?.status()).toBe(200);
      const article = page.locator('article', { hasText: message.sid });
      await article.waitFor();
      const text = await article.innerText();
      expect(text).toContain(to);
      expect(text).toContain(accepted.reference);
      const delivered = article.locator('tr', { hasText: 'delivered' });
      expect(await delivered.innerText()).toMatch(/HTTP 20\d/);
      const dir = outputDir('local-run');
      shots.push(`${dir}/whatsapp-sandbox.png`);
      await page.screenshot({ path: shots.at(-1)!, fullPage: true });
      await page.close();
    });
  });
});
