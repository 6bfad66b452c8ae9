import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { registerControlRoutes } from './control-routes.js';
import { createStandInApp } from './stand-in-app.js';
import { DelayBehaviourSchema, sampleStandIn } from './test-support/sample-stand-in.js';

function controlledApp() {
  const { store, state } = sampleStandIn();
  const app = createStandInApp({ logger: pino({ level: 'silent' }), pageContentSecurityPolicy: '' });
  registerControlRoutes(app, state, DelayBehaviourSchema);
  return { app, store, state };
}

describe('control routes', () => {
  it('report health', async () => {
    const { app } = controlledApp();
    const response = await app.inject({ url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('list the held messages oldest first and count the attempts', async () => {
    const { app, store, state } = controlledApp();
    store.add({ id: 'a' });
    store.add({ id: 'b' });
    state.countAttempt();
    expect((await app.inject({ url: '/api/messages' })).json()).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect((await app.inject({ url: '/api/attempts' })).json()).toEqual({ attempts: 1 });
  });

  it('forget the messages and the attempt count on DELETE /api/messages, answering 204', async () => {
    const { app, store, state } = controlledApp();
    store.add({ id: 'a' });
    state.countAttempt();
    const response = await app.inject({ method: 'DELETE', url: '/api/messages' });
    expect(response.statusCode).toBe(204);
    expect(state.messages()).toEqual([]);
    expect(state.attempts()).toBe(0);
  });

  it('replace the whole behaviour on PUT and answer with it, as GET then shows it', async () => {
    const { app } = controlledApp();
    const put = await app.inject({ method: 'PUT', url: '/api/behaviour', payload: { delayMs: 25 } });
    expect(put.json()).toEqual({ delayMs: 25 });
    await app.inject({ method: 'PUT', url: '/api/behaviour', payload: {} });
    expect((await app.inject({ url: '/api/behaviour' })).json()).toEqual({ delayMs: 0 });
  });

  it("refuse a behaviour the stand-in's schema does not allow and keep the current one", async () => {
    const { app, state } = controlledApp();
    state.setBehaviour({ delayMs: 7 });
    const response = await app.inject({ method: 'PUT', url: '/api/behaviour', payload: { delayMs: -1 } });
    expect(response.statusCode).toBe(400);
    expect(state.behaviour()).toEqual({ delayMs: 7 });
  });
});
