import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createStandInApp, errorStatus } from './stand-in-app.js';
import { recordingLogger } from './test-support/recording-logger.js';

const POLICY = "default-src 'none'";

function appWithRoutes(headers?: Record<string, string>) {
  const app = createStandInApp({
    logger: pino({ level: 'silent' }),
    pageContentSecurityPolicy: POLICY,
    headers,
  });
  app.get('/page', async (_request, reply) => reply.type('text/html; charset=utf-8').send('<p>hi</p>'));
  app.get('/json', async () => ({ ok: true }));
  app.put(
    '/strict',
    {
      schema: {
        body: {
          type: 'object',
          properties: { delayMs: { type: 'integer' } },
          additionalProperties: false,
        },
      },
    },
    async (request) => request.body,
  );
  return app;
}

describe('createStandInApp', () => {
  it('marks every answer nosniff and adds the headers the stand-in asks for', async () => {
    const app = appWithRoutes({ 'referrer-policy': 'no-referrer' });
    for (const url of ['/page', '/json', '/missing']) {
      const response = await app.inject({ url });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('adds no headers beyond nosniff unless asked', async () => {
    const response = await appWithRoutes().inject({ url: '/json' });
    expect(response.headers['referrer-policy']).toBeUndefined();
  });

  it('sends the content security policy with HTML pages and not with JSON', async () => {
    const app = appWithRoutes();
    expect((await app.inject({ url: '/page' })).headers['content-security-policy']).toBe(POLICY);
    expect((await app.inject({ url: '/json' })).headers['content-security-policy']).toBeUndefined();
  });

  it('rejects an unknown field or a mistyped value instead of dropping or coercing it', async () => {
    const app = appWithRoutes();
    const put = (payload: Record<string, unknown>) => app.inject({ method: 'PUT', url: '/strict', payload });
    expect((await put({ delayMs: 5, delaMs: 1 })).statusCode).toBe(400);
    expect((await put({ delayMs: '5' })).statusCode).toBe(400);
    const accepted = await put({ delayMs: 5 });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({ delayMs: 5 });
  });

  it("logs through the stand-in's logger as component http, without a line for every request", async () => {
    const { lines, logger } = recordingLogger();
    const app = createStandInApp({ logger, pageContentSecurityPolicy: POLICY });
    app.get('/noted', async (request) => {
      request.log.info('handled');
      return {};
    });
    await app.inject({ url: '/noted' });
    expect(lines.map((line) => [line.component, line.msg])).toEqual([['http', 'handled']]);
  });
});

describe('errorStatus', () => {
  it('takes the status an error carries', () => {
    expect(errorStatus(Object.assign(new Error('bad body'), { statusCode: 415 }))).toBe(415);
  });

  it('answers 500 for an error without a numeric status, or for something not an error', () => {
    expect(errorStatus(new Error('boom'))).toBe(500);
    expect(errorStatus(Object.assign(new Error('odd'), { statusCode: '404' }))).toBe(500);
    expect(errorStatus('a string')).toBe(500);
    expect(errorStatus(null)).toBe(500);
  });
});
