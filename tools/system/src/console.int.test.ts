/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { createRequire } from 'node:module';
import { CHANNELS } from '@notify/contracts';
import { MANAGEMENT_URL, waitFor } from '@notify/messaging/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderApiClient } from './order-client.js';
import { sampleOrder } from './sample-order.js';
import { launchChromium } from './test-support/chromium.js';
import type { HeadlessChromium } from './test-support/chromium.js';
import { outputDir, startLocalSystem } from './test-support/local-system.js';
import type { LocalSystem } from './test-support/local-system.js';

// The operator console as an operator uses it: the whole system as `npm start` runs it
// (with API keys on), the page in headless Chromium, every wait on what the page shows.

const KEY = 'operator-console-key-0123456789';
const axeSource = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core, injected into the page, finds no serious or critical violation. */
async function expectAccessible(page: Page, what: string): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: unknown[] }> } }
    ).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  const bad = (violations as AxeViolation[])
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  expect(bad, `accessibility of ${what}`).toEqual([]);
}

describe('the operator console', () => {
  let sys: LocalSystem;
  let api: OrderApiClient;
  let browser: HeadlessChromium;
  let page: Page;
  const dir = outputDir('console');
  const shots: string[] = [];
  const problems: string[] = [];
  const foreignRequests: string[] = [];

  const shot = async (name: string) => {
    shots.push(`${dir}/${name}.png`);
    await page.screenshot({ path: shots.at(-1)!, fullPage: true });
  };

  const channelStates = (orderId: string) =>
    page.evaluate((id) => {
      const row = document.querySelector(`tr[data-order-id="${id}"]`);
      if (!row) return null;
      return Object.fromEntries(
        [...row.querySelectorAll('td[data-channel]')].map((td) => [
          td.getAttribute('data-channel'),
          td.querySelector('[data-state]')?.getAttribute('data-state'),
        ]),
      );
    }, orderId);

  beforeAll(async () => {
    sys = await startLocalSystem({
      prefix: 'system-console',
      serviceEnv: {
        'order-api': {
          API_KEYS: `ops=${KEY}`,
          API_OPERATORS: 'ops',
          RABBITMQ_MANAGEMENT_URL: MANAGEMENT_URL,
        },
      },
    });
    api = new OrderApiClient(sys.stack.apiUrl, KEY);
    browser = await launchChromium();
    page = await browser.context.newPage();
    const origin = new URL(sys.stack.apiUrl).origin;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 500) problems.push(`HTTP ${r.status()} from ${r.request().method()} ${r.url()}`);
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(`${origin}/`)) foreignRequests.push(r.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await sys?.close();
    if (shots.length) process.stdout.write(`screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}\n`);
  });

  it('asks for the operator key once, under a strict Content-Security-Policy', async () => {
    const response = await page.goto(`${sys.stack.apiUrl}/console/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const csp = Object.fromEntries(
      (response?.headers()['content-security-policy'] ?? '').split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(csp).toMatchObject({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'connect-src': "'self'",
      'img-src': "'self' data:",
      'frame-ancestors': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
    const key = page.getByLabel('Operator API key');
    await key.waitFor({ timeout: 60_000 });
    await expectAccessible(page, 'the key form');
    await shot('key');
    // A wrong key is refused and asked for again.
    await key.fill('not-the-operator-key-000');
    await key.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'refused the key' }).waitFor({ timeout: 60_000 });
    problems.length = 0; // the browser logs the refused call itself
    await page.getByLabel('Operator API key').fill(KEY);
    await page.getByRole('button', { name: 'Open the console' }).click();
    await page.getByRole('heading', { name: 'Orders', level: 2 }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    await page.getByText('Live', { exact: true }).waitFor({ timeout: 60_000 });
  });

  it('shows an order posted through the API appear and turn green channel by channel, with its details and timeline', async () => {
    // Every state each channel of the order shows, in the order the page showed them.
    await page.evaluate(() => {
      const w = window as unknown as { seen: Record<string, Record<string, string[]>> };
      w.seen = {};
      const record = () => {
        for (const row of document.querySelectorAll('tr[data-order-id]')) {
          const id = row.getAttribute('data-order-id')!;
          for (const td of row.querySelectorAll('td[data-channel]')) {
            const ch = td.getAttribute('data-channel')!;
            const state = td.querySelector('[data-state]')?.getAttribute('data-state');
            const list = ((w.seen[id] ??= {})[ch] ??= []);
            if (state && list.at(-1) !== state) list.push(state);
          }
        }
      };
      new MutationObserver(record).observe(document.body, {
        subtree: true,
        childList: true,
        attributes: true,
      });
    });
    const placed = await api.postOrder(sampleOrder());
    await page.locator(`tr[data-order-id="${placed.id}"]`).waitFor({ timeout: 60_000 });
    await waitFor(
      async () => {
        const s = await channelStates(placed.id);
        return s && CHANNELS.every((c) => s[c] === 'succeeded');
      },
      { timeoutMs: 150_000, intervalMs: 250, what: 'every channel of the order succeeded on the page' },
    );
    const seen = await page.evaluate(
      (id) => (window as unknown as { seen: Record<string, Record<string, string[]>> }).seen[id],
      placed.id,
    );
    const rank = ['pending', 'published', 'retrying', 'failed', 'dead_lettered', 'succeeded'];
    for (const c of CHANNELS) {
      const states = seen?.[c] ?? [];
      expect(states.at(-1), c).toBe('succeeded');
      // Live: the channel was seen before it succeeded, and it only ever moved forward.
      expect(states.length, `${c} went through ${states.join(' > ')}`).toBeGreaterThan(1);
      expect(states.map((s) => rank.indexOf(s))).toEqual(
        [...states.map((s) => rank.indexOf(s))].sort((a, b) => a - b),
      );
    }
    const row = page.locator(`tr[data-order-id="${placed.id}"]`);
    expect(await row.locator('.status').innerText()).toBe('completed');

    // The detail panel, opened and closed with the keyboard.
    const open = row.getByRole('button', { name: placed.reference });
    await open.focus();
    await page.keyboard.press('Enter');
    const panel = page.locator('#order-detail');
    await panel.getByRole('heading', { name: `Order ${placed.reference}` }).waitFor({ timeout: 30_000 });
    const text = () => panel.innerText();
    await waitFor(async () => /Tracking number/.test(await text()), {
      timeoutMs: 30_000,
      what: 'the channel details',
    });
    const shown = await text();
    for (const label of ['Tracking number', 'Authorization id', 'Score', 'Rules', 'Delivery status']) {
      expect(shown).toContain(label);
    }
    const timeline = await panel.locator('.timeline li').allInnerTexts();
    expect(timeline.some((t) => t.includes(`order ${placed.reference} placed`))).toBe(true);
    expect(timeline.filter((t) => / published$/.test(t))).toHaveLength(5);
    expect(timeline.some((t) => /whatsapp succeeded/.test(t))).toBe(true);
    await expectAccessible(page, 'the Orders view with an order open');
    await page.setViewportSize({ width: 1600, height: 1000 });
    await shot('orders');
    await page.screenshot({ path: `${dir}/console.png` });
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached', timeout: 10_000 });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(placed.reference);

    // A narrow screen: no sideways scrolling, every channel still labelled.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await shot('orders-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows a dead-lettered email with its reason, replays it from the page, and the email then succeeds', async () => {
    const refused = `refused.${Date.now().toString(36)}@example.com`;
    sys.mail.setBehaviour({ rejectRecipients: [refused] });
    const order = await api.postOrder(sampleOrder({ email: refused }));
    const dead = await waitFor(
      async () => {
        const o = await api.getOrder(order.id);
        return o.channels.email.state === 'dead_lettered' ? o : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'the email dead-lettered' },
    );
    const messageId = dead.channels.email.messageId!;

    await page.getByRole('link', { name: 'Dead letters' }).click();
    const email = page.locator('section.dl-service[data-service="email"]');
    const letter = email.locator(`tr[data-message-id="${messageId}"]`);
    await letter.waitFor({ timeout: 60_000 });
    const letterText = await letter.innerText();
    expect(letterText).toContain('permanent-failure');
    expect(letterText).toContain('550');
    expect(letterText).toContain(order.id);
    await expectAccessible(page, 'the Dead letters view');
    await shot('dead-letters');

    // The cause is fixed: the server accepts the address again. Replay that one letter.
    sys.mail.setBehaviour({});
    await letter.getByRole('checkbox').check();
    await email.getByRole('button', { name: 'Replay chosen (1)' }).click();
    const dialog = page.getByRole('dialog', { name: 'Replay dead letters' });
    await dialog.waitFor({ timeout: 10_000 });
    expect(await dialog.innerText()).toContain('Replay 1 chosen dead letter of email?');
    await expectAccessible(page, 'the replay confirmation');
    await shot('dead-letters-confirm');
    await dialog.getByRole('button', { name: 'Replay', exact: true }).click();
    await email
      .getByRole('status')
      .filter({ hasText: 'Replayed 1 letter of email.' })
      .waitFor({ timeout: 60_000 });
    await letter.waitFor({ state: 'detached', timeout: 60_000 });
    await shot('dead-letters-replayed');

    // Back in the Orders view, the order's email turns green.
    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByLabel('Search orders').fill(refused);
    await page.getByLabel('Search orders').press('Enter');
    await page.locator(`tr[data-order-id="${order.id}"]`).waitFor({ timeout: 60_000 });
    await waitFor(async () => (await channelStates(order.id))?.['email'] === 'succeeded', {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'the replayed email succeeded on the page',
    });
    expect(sys.mail.messages().filter((m) => m.envelope.to.includes(refused))).toHaveLength(1);
    await page.getByRole('button', { name: 'Show all' }).click();
  });

  it('shows a growing queue in the System view when a service is stopped', async () => {
    await page.getByRole('link', { name: 'System' }).click();
    const row = (service: string) => page.locator(`tr[data-service="${service}"]`);
    const cell = (service: string, label: string) => row(service).locator(`td[data-label="${label}"]`);
    await row('logistic').waitFor({ timeout: 60_000 });
    await waitFor(async () => (await cell('logistic', 'Ready').innerText()).startsWith('ready'), {
      timeoutMs: 60_000,
      what: 'logistic ready',
    });
    expect(await page.locator('li[data-source="management"]').innerText()).toContain('available');
    await expectAccessible(page, 'the System view');

    await sys.stack.get('logistic').stop();
    try {
      for (let i = 0; i < 3; i++) await api.postOrder(sampleOrder());
      await waitFor(
        async () => {
          const depth = Number((await cell('logistic', 'Queue depth').innerText()).split('\n')[0]);
          return depth >= 3;
        },
        { timeoutMs: 120_000, intervalMs: 500, what: 'the logistic queue growing on the page' },
      );
      expect((await cell('logistic', 'Consumers').innerText()).split('\n')[0]).toBe('0');
      expect(await cell('logistic', 'Ready').innerText()).toContain('not reachable');
      expect(await page.locator('li[data-source="readyz"]').innerText()).toContain('logistic');
      await shot('system-logistic-stopped');
    } finally {
      sys.stack.get('logistic').start();
      await sys.stack.get('logistic').waitReady(120_000);
    }
    await waitFor(async () => (await cell('logistic', 'Queue depth').innerText()).startsWith('0'), {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'the logistic queue drained once the service is back',
    });
  });

  it('made no request to another origin and hit no Content-Security-Policy violation or script error', () => {
    expect(foreignRequests).toEqual([]);
    const failures = sys.logs('order-api').filter((l) => /"level":(50|60)/.test(l));
    expect({ problems, failures }).toEqual({ problems: [], failures: [] });
  });
});
