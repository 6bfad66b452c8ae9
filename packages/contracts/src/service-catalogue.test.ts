import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  fullTopology,
  isServiceName,
  ORDER_EVENTS_QUEUE,
  SERVICE_CATALOGUE,
  SERVICE_LIST,
  SERVICE_NAMES,
} from './index.js';

const repoRoot = new URL('../../../', import.meta.url);

describe('service catalogue', () => {
  it('lists the order API first and then one service per channel, each under its own name', () => {
    expect(SERVICE_NAMES).toEqual(['order-api', ...CHANNELS]);
    expect(SERVICE_LIST.map((s) => s.name)).toEqual(SERVICE_NAMES);
    for (const name of SERVICE_NAMES) expect(SERVICE_CATALOGUE[name].name).toBe(name);
  });

  it('gives each service its own default port', () => {
    expect(Object.fromEntries(SERVICE_LIST.map((s) => [s.name, s.port]))).toEqual({
      'order-api': 3000,
      email: 3001,
      whatsapp: 3002,
      logistic: 3003,
      payment: 3004,
      fraud: 3005,
    });
  });

  it('names a workspace folder whose package.json carries the npm package name', () => {
    for (const s of SERVICE_LIST) {
      const pkg = JSON.parse(readFileSync(new URL(`${s.dir}/package.json`, repoRoot), 'utf8')) as {
        name: string;
      };
      expect(pkg.name).toBe(s.package);
    }
  });

  it('gives each service its own PostgreSQL schema, an unquoted identifier', () => {
    expect(SERVICE_CATALOGUE['order-api'].schema).toBe('order_api');
    for (const s of SERVICE_LIST) expect(s.schema).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(new Set(SERVICE_LIST.map((s) => s.schema)).size).toBe(SERVICE_LIST.length);
  });

  it('points each service at a queue the topology declares: the channel work queue, or the event queue for the API', () => {
    const declared = new Set(fullTopology().queues.map((q) => q.name));
    expect(SERVICE_CATALOGUE['order-api']).toMatchObject({
      workQueue: null,
      consumedQueue: ORDER_EVENTS_QUEUE,
    });
    for (const channel of CHANNELS) {
      const s = SERVICE_CATALOGUE[channel];
      expect(s.workQueue).toBe(channel);
      expect(s.consumedQueue).toBe(s.workQueue);
    }
    for (const s of SERVICE_LIST) expect(declared.has(s.consumedQueue)).toBe(true);
  });

  it('tells a service name from any other string', () => {
    expect(isServiceName('whatsapp')).toBe(true);
    expect(isServiceName('order_api')).toBe(false);
    expect(isServiceName('mail-catcher')).toBe(false);
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(SERVICE_CATALOGUE)).toBe(true);
    expect(Object.isFrozen(SERVICE_LIST)).toBe(true);
    expect(Object.isFrozen(SERVICE_CATALOGUE.email)).toBe(true);
  });
});
