import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMailCatcher } from './mail-catcher.js';
import type { MailCatcher } from './mail-catcher.js';
import { transportFor } from './test-support/smtp-client.js';

// Generous: other suites may be loading the machine at the same time.
const WAIT_MS = 30_000;

let catcher: MailCatcher;

beforeEach(async () => {
  catcher = await startMailCatcher();
});

afterEach(async () => {
  await catcher.close();
});

const hostileSubject = '<script>alert("subject")</script> & "quotes"';
const hostileHtml = '<h1>Hi</h1><script>alert("body")</script><img src=x onerror="alert(1)">';

async function sendHostileMail() {
  await transportFor(catcher).sendMail({
    from: '"<b>Evil</b>" <evil@shop.example>',
    to: 'victim@example.com',
    subject: hostileSubject,
    text: 'text with <tags> & "quotes"',
    html: hostileHtml,
  });
  return catcher.waitFor((mail) => mail.subject === hostileSubject, WAIT_MS);
}

describe('web pages', () => {
  it('lists received mail newest first with subject, from, to, date and a link to each', async () => {
    const transport = transportFor(catcher);
    await transport.sendMail({
      from: 'a@shop.example',
      to: 'first@example.com',
      subject: 'older',
      text: '1',
    });
    await transport.sendMail({
      from: 'a@shop.example',
      to: 'second@example.com',
      subject: 'newer',
      text: '2',
    });
    const response = await fetch(`${catcher.httpUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page.indexOf('newer')).toBeLessThan(page.indexOf('older'));
    for (const mail of catcher.messages()) {
      expect(page).toContain(`href="/messages/${mail.id}"`);
    }
    expect(page).toContain('second@example.com');
    expect(page).not.toMatch(/<link|<script|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('escapes a <script> subject on the list page', async () => {
    await sendHostileMail();
    const page = await (await fetch(`${catcher.httpUrl}/`)).text();
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<b>Evil</b>');
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;',
    );
  });

  it('shows the text body escaped and the HTML body only inside a sandboxed srcdoc frame', async () => {
    const mail = await sendHostileMail();
    const response = await fetch(`${catcher.httpUrl}/messages/${mail.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'none'");
    const page = await response.text();

    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).toContain('<pre>text with &lt;tags&gt; &amp; &quot;quotes&quot;');
    const frame = /<iframe sandbox="" [^>]*srcdoc="([^"]*)"><\/iframe>/.exec(page);
    expect(frame).not.toBeNull();
    const unescaped = (frame?.[1] ?? '')
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>')
      .replaceAll('&quot;', '"')
      .replaceAll('&#39;', "'")
      .replaceAll('&amp;', '&');
    expect(unescaped).toBe(mail.html);
  });

  it('answers an unknown message id with a 404 page that escapes the id', async () => {
    const response = await fetch(`${catcher.httpUrl}/messages/${encodeURIComponent('<x>')}`);
    expect(response.status).toBe(404);
    const page = await response.text();
    expect(page).toContain('&lt;x&gt;');
    expect(page).not.toContain('<x>');
  });

  it('reports health', async () => {
    const response = await fetch(`${catcher.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
