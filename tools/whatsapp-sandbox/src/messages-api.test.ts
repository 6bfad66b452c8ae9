import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NOT_ON_WHATSAPP_NUMBER } from './sandbox-behaviour.js';
import { startWhatsappSandbox } from './whatsapp-sandbox.js';
import type { WhatsappSandbox } from './whatsapp-sandbox.js';

const TO = 'whatsapp:+4915112345678';
const FROM = 'whatsapp:+14155238886';

let sandbox: WhatsappSandbox;

beforeEach(async () => {
  sandbox = await startWhatsappSandbox();
});

afterEach(async () => {
  await sandbox.close();
});

/** A raw form POST as any HTTP client would send it, for the checks the SDK makes impossible. */
async function postMessage(
  form: Record<string, string>,
  auth = `${sandbox.accountSid}:${sandbox.authToken}`,
) {
  const response = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('Messages API validation', () => {
  it.each([
    ['To is missing', { From: FROM, Body: 'hi' }, 21604],
    ['From is missing', { To: TO, Body: 'hi' }, 21603],
    ['To is not whatsapp:+E.164', { To: 'whatsapp:+49 151 1234', From: FROM, Body: 'hi' }, 21211],
    ['From is not whatsapp:+E.164', { To: TO, From: '+14155238886', Body: 'hi' }, 21212],
    ['there is neither Body nor ContentSid', { To: TO, From: FROM }, 21619],
    ['Body is longer than 1600 characters', { To: TO, From: FROM, Body: 'x'.repeat(1601) }, 21617],
    ['ContentSid is malformed', { To: TO, From: FROM, ContentSid: 'HX123' }, 21655],
    [
      'ContentVariables is not JSON',
      { To: TO, From: FROM, ContentSid: `HX${'a'.repeat(32)}`, ContentVariables: '{1: Ada}' },
      21656,
    ],
    [
      'a content variable is empty',
      { To: TO, From: FROM, ContentSid: `HX${'a'.repeat(32)}`, ContentVariables: '{"1":""}' },
      21656,
    ],
    ['StatusCallback is not a URL', { To: TO, From: FROM, Body: 'hi', StatusCallback: 'not a url' }, 21609],
  ])('answers 400 in Twilio error form when %s', async (_case, form, code) => {
    const response = await postMessage(form);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      code,
      message: expect.any(String),
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status: 400,
    });
    expect(sandbox.messages()).toEqual([]);
  });

  it('answers a missing or wrong Authorization with 401 and a Basic challenge', async () => {
    const wrong = await postMessage({ To: TO, From: FROM, Body: 'hi' }, `${sandbox.accountSid}:nope`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="Twilio API"');
    expect(wrong.body).toMatchObject({ code: 20003, status: 401 });

    const none = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'To=x',
    });
    expect(none.status).toBe(401);
    expect(sandbox.attempts()).toBe(2);
  });

  it('keeps repeated form fields such as MediaUrl as lists', async () => {
    const response = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      },
      body: `To=${encodeURIComponent(TO)}&From=${encodeURIComponent(FROM)}&MediaUrl=https%3A%2F%2Fa.example%2F1.png&MediaUrl=https%3A%2F%2Fa.example%2F2.png`,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ num_media: '2', body: null, status: 'queued' });
    expect(sandbox.messages()[0]?.mediaUrls).toEqual(['https://a.example/1.png', 'https://a.example/2.png']);
  });

  it('answers unknown API paths and non-form bodies in Twilio error form', async () => {
    const unknown = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Calls.json`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 20404, status: 404 });

    const json = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${sandbox.accountSid}:${sandbox.authToken}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ To: TO, From: FROM, Body: 'hi' }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 21604 });

    const text = await fetch(`${sandbox.url}/2010-04-01/Accounts/${sandbox.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: 'To=x',
    });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 20415, status: 415 });
  });

  it('returns the created resource in the shape of the api.v2010.account.message schema', async () => {
    const created = await postMessage({ To: TO, From: FROM, Body: 'hi' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(
      [
        'account_sid',
        'api_version',
        'body',
        'date_created',
        'date_sent',
        'date_updated',
        'direction',
        'error_code',
        'error_message',
        'from',
        'messaging_service_sid',
        'num_media',
        'num_segments',
        'price',
        'price_unit',
        'sid',
        'status',
        'subresource_uris',
        'to',
        'uri',
      ].sort(),
    );
    expect(created.body.date_created).toMatch(
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/,
    );
    expect(created.body.date_sent).toBeNull();
  });
});

describe('control API', () => {
  it('sets behaviour over HTTP and rejects unknown fields, bad statuses and bad patterns', async () => {
    const put = (body: unknown) =>
      fetch(`${sandbox.url}/api/behaviour`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await put({ failNext: { count: 1, status: 503 }, callbackStatuses: ['sent'] });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      failNext: { count: 1, status: 503 },
      callbackStatuses: ['sent'],
    });
    expect((await postMessage({ To: TO, From: FROM, Body: 'hi' })).body).toMatchObject({
      code: 20503,
      status: 503,
    });

    expect((await put({ failNext: { count: 1, status: 418 } })).status).toBe(400);
    expect((await put({ callbackStatuses: ['opened'] })).status).toBe(400);
    expect((await put({ rejectNumber: ['x'] })).status).toBe(400);
    const badPattern = await put({ rejectNumbers: ['(+'] });
    expect(badPattern.status).toBe(400);
    expect(await badPattern.json()).toEqual({
      error: expect.stringMatching(/not a valid regular expression/),
    });
    expect(sandbox.behaviour().callbackStatuses).toEqual(['sent']);
  });

  it('clears messages and attempts, and reports health', async () => {
    await postMessage({ To: TO, From: FROM, Body: 'hi' });
    expect((await (await fetch(`${sandbox.url}/api/attempts`)).json()) as unknown).toEqual({ attempts: 1 });
    const cleared = await fetch(`${sandbox.url}/api/messages`, { method: 'DELETE' });
    expect(cleared.status).toBe(204);
    expect(sandbox.messages()).toEqual([]);
    expect(sandbox.attempts()).toBe(0);
    const health = await fetch(`${sandbox.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('waitFor rejects with a clear error when nothing matches in time', async () => {
    await expect(sandbox.waitFor(() => false, 50)).rejects.toThrow(/no message matched within 50 ms/);
  });
});

describe('web page', () => {
  it('lists messages with everything from them escaped', async () => {
    await postMessage({ To: TO, From: FROM, Body: '<script>alert("body")</script>' });
    await postMessage({
      To: TO,
      From: FROM,
      ContentSid: `HX${'b'.repeat(32)}`,
      ContentVariables: JSON.stringify({ 1: '<img src=x onerror=alert(1)>' }),
      StatusCallback: 'http://127.0.0.1:9/cb?a=1&b="<x>"',
    });
    const response = await fetch(`${sandbox.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await response.text();
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
    expect(page).not.toContain('"<x>"');
    expect(page).toContain('&lt;script&gt;alert(&quot;body&quot;)&lt;/script&gt;');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page).toContain(`HX${'b'.repeat(32)}`);
    expect(page).toContain(TO);
  });
});

describe('production guard', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses to start when NODE_ENV is production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    await expect(startWhatsappSandbox()).rejects.toThrow(/refuses to start with NODE_ENV=production/);
  });
});

describe('numbers WhatsApp cannot reach, SMS and opt-outs', () => {
  const SMS_FROM = '+15005550006';

  it('accepts an SMS (bare E.164 addresses) and keeps which channel each message went on', async () => {
    const sms = await postMessage({ To: '+4915112345678', From: SMS_FROM, Body: 'hi' });
    expect(sms.status).toBe(201);
    expect(sms.body).toMatchObject({ to: '+4915112345678', from: SMS_FROM, status: 'queued' });
    const wa = await postMessage({ To: TO, From: FROM, Body: 'hi' });
    expect(wa.status).toBe(201);
    expect(sandbox.messages().map((m) => m.channel)).toEqual(['sms', 'whatsapp']);
    // An SMS from a WhatsApp sender (or the other way round) is no valid message.
    expect((await postMessage({ To: '+4915112345678', From: FROM, Body: 'hi' })).body).toMatchObject({
      code: 21212,
    });
  });

  it('answers 63003 for WhatsApp to the not-on-WhatsApp number by default, and takes an SMS to it', async () => {
    const wa = await postMessage({ To: `whatsapp:${NOT_ON_WHATSAPP_NUMBER}`, From: FROM, Body: 'hi' });
    expect(wa.status).toBe(400);
    expect(wa.body).toMatchObject({ code: 63003, message: 'Channel could not find To address' });
    const sms = await postMessage({ To: NOT_ON_WHATSAPP_NUMBER, From: SMS_FROM, Body: 'hi' });
    expect(sms.status).toBe(201);
    expect(sandbox.messages()).toHaveLength(1);
  });

  it('answers the configured WhatsApp error per number, and 21610 on both channels to an unsubscribed number', async () => {
    sandbox.setBehaviour({
      whatsappErrors: [{ number: '+4915112345678', code: 63016 }],
      unsubscribedNumbers: ['+4915100000001'],
    });
    expect((await postMessage({ To: TO, From: FROM, Body: 'hi' })).body).toMatchObject({ code: 63016 });
    for (const [to, from] of [
      ['whatsapp:+4915100000001', FROM],
      ['+4915100000001', SMS_FROM],
    ] as const) {
      expect((await postMessage({ To: to, From: from, Body: 'hi' })).body).toMatchObject({
        code: 21610,
        status: 400,
      });
    }
    // Setting a behaviour replaces the default list: the demo number is on WhatsApp now.
    const demo = await postMessage({ To: `whatsapp:${NOT_ON_WHATSAPP_NUMBER}`, From: FROM, Body: 'hi' });
    expect(demo.status).toBe(201);
  });
});
