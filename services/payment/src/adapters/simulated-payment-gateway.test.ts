import { describe, expect, it } from 'vitest';
import { GatewayRequestError, GatewayTimeoutError, GatewayTransientError } from '../payment-gateway.js';
import type { AuthorizationRequest, AuthorizationResult } from '../payment-gateway.js';
import { SimulatedPaymentGateway } from './simulated-payment-gateway.js';
import type { LedgerEntry, SimulatorLedgerRepository } from './simulated-payment-gateway.js';

/** The ledger kept in memory, with the same semantics as the PostgreSQL one. */
class MemoryLedger implements SimulatorLedgerRepository {
  readonly entries = new Map<string, LedgerEntry>();
  async recordCall(key: string, params: Omit<LedgerEntry, 'idempotencyKey' | 'calls' | 'result'>) {
    const old = this.entries.get(key);
    const entry: LedgerEntry = old
      ? { ...old, calls: old.calls + 1 }
      : { idempotencyKey: key, ...params, calls: 1, result: undefined };
    this.entries.set(key, entry);
    return entry;
  }
  async settle(key: string, result: AuthorizationResult) {
    const entry = this.entries.get(key)!;
    if (!entry.result) this.entries.set(key, { ...entry, result });
    return this.entries.get(key)!.result!;
  }
}

const request = (token: string, patch: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  idempotencyKey: `order-${token}`,
  amount: 3998,
  currency: 'GBP',
  token,
  ...patch,
});

function processor(options: ConstructorParameters<typeof SimulatedPaymentGateway>[1] = {}) {
  const ledger = new MemoryLedger();
  return { ledger, gateway: new SimulatedPaymentGateway(ledger, options) };
}

describe('SimulatedPaymentGateway outcomes by test token', () => {
  it.each(['tok_approve', 'tok_visa_4242', 'anything_else'])('authorises %s', async (token) => {
    const { gateway } = processor();
    const result = await gateway.authorize(request(token));
    expect(result).toMatchObject({ status: 'authorized' });
    expect(result.status === 'authorized' && result.authorizationId).toMatch(/^simauth_[0-9a-f]{24}$/);
  });

  it('declines tok_decline as card_declined and tok_insufficient_funds as insufficient_funds', async () => {
    const { gateway } = processor();
    expect(await gateway.authorize(request('tok_decline'))).toEqual({
      status: 'declined',
      code: 'card_declined',
      reason: 'The card was declined by the issuer.',
    });
    expect(await gateway.authorize(request('tok_insufficient_funds'))).toMatchObject({
      status: 'declined',
      code: 'insufficient_funds',
    });
  });

  it('fails tok_gateway_error transiently on every call and records no result', async () => {
    const { gateway, ledger } = processor();
    for (let i = 0; i < 3; i++) {
      await expect(gateway.authorize(request('tok_gateway_error'))).rejects.toBeInstanceOf(
        GatewayTransientError,
      );
    }
    expect(ledger.entries.get('order-tok_gateway_error')).toMatchObject({ calls: 3, result: undefined });
  });

  it('fails tok_flaky transiently for the configured number of calls, then approves', async () => {
    const { gateway } = processor({ flakyFailures: 3 });
    for (let i = 1; i <= 3; i++) {
      await expect(gateway.authorize(request('tok_flaky'))).rejects.toThrow(`call ${i} of 3 failing`);
    }
    expect(await gateway.authorize(request('tok_flaky'))).toMatchObject({ status: 'authorized' });
  });

  it('does not answer tok_timeout until the caller gives up, then reports a timeout', async () => {
    const { gateway } = processor();
    const ac = new AbortController();
    const pending = gateway.authorize(request('tok_timeout'), { signal: ac.signal });
    ac.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayTimeoutError);
    expect(err).toBeInstanceOf(GatewayTransientError);
  });
});

describe('SimulatedPaymentGateway behaviour of a real processor', () => {
  it('waits the configured latency before answering', async () => {
    const waits: number[] = [];
    const { gateway } = processor({ latencyMs: 120, sleep: async (ms) => void waits.push(ms) });
    await gateway.authorize(request('tok_approve'));
    expect(waits).toEqual([120]);
  });

  it('answers a repeated idempotency key with the first result and charges once', async () => {
    const { gateway, ledger } = processor();
    const first = await gateway.authorize(request('tok_approve', { idempotencyKey: 'order-1' }));
    const second = await gateway.authorize(request('tok_approve', { idempotencyKey: 'order-1' }));
    expect(second).toEqual(first);
    expect(ledger.entries.size).toBe(1);
    expect(ledger.entries.get('order-1')).toMatchObject({ calls: 2, result: first });
  });

  it('keeps a decline for the key as well', async () => {
    const { gateway } = processor();
    const first = await gateway.authorize(request('tok_decline', { idempotencyKey: 'order-2' }));
    expect(await gateway.authorize(request('tok_decline', { idempotencyKey: 'order-2' }))).toEqual(first);
  });

  it('keeps the first result when two calls with one key race', async () => {
    const { gateway, ledger } = processor();
    const results = await Promise.all([
      gateway.authorize(request('tok_approve', { idempotencyKey: 'order-3' })),
      gateway.authorize(request('tok_approve', { idempotencyKey: 'order-3' })),
    ]);
    expect(results[0]).toEqual(results[1]);
    expect(ledger.entries.get('order-3')?.result).toEqual(results[0]);
  });

  it('refuses a key reused with another amount, currency or token', async () => {
    const { gateway } = processor();
    await gateway.authorize(request('tok_approve', { idempotencyKey: 'order-4' }));
    for (const patch of [{ amount: 1 }, { currency: 'EUR' as const }, { token: 'tok_other' }]) {
      const err = await gateway
        .authorize(request('tok_approve', { idempotencyKey: 'order-4', ...patch }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GatewayRequestError);
      expect((err as GatewayRequestError).code).toBe('idempotency_key_reused');
    }
  });

  it('never stores the token itself', async () => {
    const { gateway, ledger } = processor();
    await gateway.authorize(request('tok_approve', { idempotencyKey: 'order-5' }));
    expect(JSON.stringify([...ledger.entries.values()])).not.toContain('tok_approve');
  });
});
