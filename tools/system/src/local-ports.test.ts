import { describe, expect, it } from 'vitest';
import { localOpsPort, localServicePorts } from './local-ports.js';
import { PreflightError } from './preflight.js';

describe("the local run's ports", () => {
  it("are the catalogue's without PORT_BASE", () => {
    expect(localServicePorts({})).toEqual({
      'order-api': 3000,
      email: 3001,
      whatsapp: 3002,
      logistic: 3003,
      payment: 3004,
      fraud: 3005,
    });
  });

  it('move together to start at PORT_BASE, the order API on it', () => {
    expect(localServicePorts({ PORT_BASE: '4100' })).toEqual({
      'order-api': 4100,
      email: 4101,
      whatsapp: 4102,
      logistic: 4103,
      payment: 4104,
      fraud: 4105,
    });
  });

  it("put the order API's operations port after the six, moved with them", () => {
    expect(localOpsPort({})).toBe(3006);
    expect(localOpsPort({ PORT_BASE: '4100' })).toBe(4106);
  });

  it.each(['abc', '80', '4100.5', '65535', '-1'])('refuse PORT_BASE=%s and name the variable', (value) => {
    expect(() => localServicePorts({ PORT_BASE: value })).toThrow(PreflightError);
    expect(() => localServicePorts({ PORT_BASE: value })).toThrow(/PORT_BASE/);
  });
});
