import { exampleMessages } from '@notify/contracts';
import type { PaymentMessage } from '@notify/contracts';
import type { DeliveryMeta, TraceMeta } from '@notify/service-kit';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { authorizePayment, authorizePayments } from './authorize-payment.js';
import type { AttemptRef, Payment, PaymentRepository } from './authorize-payment.js';
import { GatewayRequestError, GatewayTransientError } from './payment-gateway.js';
import type { AuthorizationRequest, AuthorizationResult, PaymentGateway } from './payment-gateway.js';

interface AttemptRecord {
  attemptNo: number;
  outcome: 'pending' | 'authorized' | 'declined' | 'error';
  error?: string;
  transient?: boolean;
  latencyMs?: number;
  redelivered: boolean;
}

// In-memory ports: the use case is exercised without a database, broker or processor.
function memoryPorts(
  answer: (req: AuthorizationRequest, signal?: AbortSignal) => Promise<AuthorizationResult>,
) {
  const payments = new Map<string, Payment>();
  const attempts: AttemptRecord[] = [];
  const published: { payment: Payment; trace: string | undefined }[] = [];
  const calls: AuthorizationRequest[] = [];
  const gateway: PaymentGateway = {
    name: 'test-gateway',
    authorize: async (req, options) => {
      calls.push(req);
      return answer(req, options?.signal);
    },
  };
  const windowCalls: string[] = [];
  const start = (a: { redelivered: boolean }) => {
    attempts.push({ attemptNo: attempts.length + 1, outcome: 'pending', redelivered: a.redelivered });
    return { id: String(attempts.length), attemptNo: attempts.length };
  };
  const fail = (ref: AttemptRef, f: object) => {
    Object.assign(attempts[ref.attemptNo - 1]!, { outcome: 'error', ...f });
  };
  const record = (ref: AttemptRef, p: Payment, latencyMs: number) => {
    Object.assign(attempts[ref.attemptNo - 1]!, { outcome: p.status, latencyMs });
    const stored = payments.get(p.orderId) ?? p;
    payments.set(p.orderId, stored);
    return stored;
  };
  const repository: PaymentRepository = {
    findByOrderId: async (id) => payments.get(id),
    findByOrderIds: async (ids) => {
      windowCalls.push('findByOrderIds');
      return new Map(ids.flatMap((id) => (payments.has(id) ? [[id, payments.get(id)!] as const] : [])));
    },
    startAttempt: async (a) => start(a),
    startAttempts: async (list) => {
      windowCalls.push('startAttempts');
      return list.map(start);
    },
    recordFailure: async (ref: AttemptRef, f) => fail(ref, f),
    recordResult: async (ref: AttemptRef, p, latencyMs) => record(ref, p, latencyMs),
    finishAll: async (items) => {
      windowCalls.push('finishAll');
      return items.map((i) => {
        if ('failure' in i) return void fail(i.attempt, i.failure);
        return record(i.attempt, i.payment, i.latencyMs);
      });
    },
  };
  const events = {
    paymentDecided: async (payment: Payment, meta: TraceMeta) => {
      published.push({ payment, trace: meta.traceparent });
    },
  };
  const deps = (gatewayTimeoutMs = 5_000) => ({
    gateway,
    repository,
    events,
    gatewayTimeoutMs,
    now: () => new Date('2026-11-23T09:00:00.000Z'),
  });
  return { payments, attempts, published, calls, deps, windowCalls };
}

/** A delivery of message m1; its trace tells which delivery published an event. */
const meta = (patch: Partial<DeliveryMeta> = {}): DeliveryMeta =>
  testDeliveryMeta({ messageId: 'm1', traceparent: 'trace-of-m1', ...patch });
const message = (patch: Partial<PaymentMessage> = {}): PaymentMessage => ({
  ...structuredClone(exampleMessages.payment),
  ...patch,
});
const approve = async (): Promise<AuthorizationResult> => ({
  status: 'authorized',
  authorizationId: 'auth_1',
});

describe('authorizePayment', () => {
  it('authorises the order amount with the order id as idempotency key and announces it', async () => {
    const ports = memoryPorts(approve);
    const outcome = await authorizePayment(message(), meta(), ports.deps());
    expect(outcome.kind).toBe('authorized');
    expect(ports.calls).toEqual([
      expect.objectContaining({
        idempotencyKey: exampleMessages.payment.orderId,
        amount: 3998,
        currency: 'GBP',
        token: 'tok_approve',
        billingCountry: 'GB',
      }),
    ]);
    const payment = ports.payments.get(exampleMessages.payment.orderId);
    expect(payment).toEqual({
      orderId: exampleMessages.payment.orderId,
      status: 'authorized',
      authorizationId: 'auth_1',
      amount: 3998,
      currency: 'GBP',
      gateway: 'test-gateway',
      attempts: 1,
      messageId: 'm1',
      decidedAt: new Date('2026-11-23T09:00:00.000Z'),
    });
    expect(ports.attempts).toEqual([
      expect.objectContaining({ attemptNo: 1, outcome: 'authorized', latencyMs: expect.any(Number) }),
    ]);
    expect(ports.published).toEqual([{ payment, trace: 'trace-of-m1' }]);
  });

  it('treats a decline as an outcome: stored and announced', async () => {
    const ports = memoryPorts(async () => ({
      status: 'declined',
      code: 'card_declined',
      reason: 'Declined.',
    }));
    const outcome = await authorizePayment(message(), meta(), ports.deps());
    expect(outcome).toMatchObject({
      kind: 'declined',
      payment: { status: 'declined', declineCode: 'card_declined', declineReason: 'Declined.' },
    });
    expect(ports.published).toHaveLength(1);
  });

  it('reports gateway trouble as transient and records the failed attempt', async () => {
    const ports = memoryPorts(async () => {
      throw new GatewayTransientError('503 from processor');
    });
    const outcome = await authorizePayment(message(), meta(), ports.deps());
    expect(outcome).toEqual({ kind: 'gateway-error', transient: true, error: '503 from processor' });
    expect(ports.attempts).toEqual([
      expect.objectContaining({ outcome: 'error', error: '503 from processor', transient: true }),
    ]);
    expect(ports.payments.size).toBe(0);
    expect(ports.published).toEqual([]);
  });

  it('treats an unclassified error as transient, a refused request as final', async () => {
    const odd = memoryPorts(async () => {
      throw new TypeError('socket hang up');
    });
    expect(await authorizePayment(message(), meta(), odd.deps())).toMatchObject({ transient: true });
    const refused = memoryPorts(async () => {
      throw new GatewayRequestError('key reused', 'idempotency_key_reused');
    });
    expect(await authorizePayment(message(), meta(), refused.deps())).toEqual({
      kind: 'gateway-error',
      transient: false,
      error: 'key reused',
      code: 'idempotency_key_reused',
    });
  });

  it('gives up on a gateway that does not answer within the deadline, aborting its call', async () => {
    let aborted = false;
    const ports = memoryPorts(
      (_req, signal) =>
        new Promise(() => {
          signal?.addEventListener('abort', () => (aborted = true));
        }),
    );
    const outcome = await authorizePayment(message(), meta(), ports.deps(20));
    expect(outcome).toEqual({
      kind: 'gateway-error',
      transient: true,
      error: 'payment gateway did not answer within 20 ms',
    });
    expect(aborted).toBe(true);
    expect(ports.attempts[0]).toMatchObject({ outcome: 'error', transient: true });
  });

  it('numbers attempts across retries and stores the count with the result', async () => {
    let n = 0;
    const ports = memoryPorts(async () => {
      if (++n < 3) throw new GatewayTransientError('busy');
      return { status: 'authorized', authorizationId: 'auth_3' };
    });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await authorizePayment(message(), meta({ attempt }), ports.deps());
    }
    expect(ports.attempts.map((a) => [a.attemptNo, a.outcome])).toEqual([
      [1, 'error'],
      [2, 'error'],
      [3, 'authorized'],
    ]);
    expect(ports.payments.get(exampleMessages.payment.orderId)).toMatchObject({ attempts: 3 });
  });

  it('on a duplicate delivery announces the stored outcome again and never calls the gateway', async () => {
    const ports = memoryPorts(approve);
    await authorizePayment(message(), meta(), ports.deps());
    const again = await authorizePayment(message(), meta({ redelivered: true }), ports.deps());
    expect(again.kind).toBe('duplicate');
    expect(ports.calls).toHaveLength(1);
    expect(ports.attempts).toHaveLength(1);
    expect(ports.published).toHaveLength(2);
    expect(ports.published[1]!.payment).toEqual(ports.published[0]!.payment);
  });

  it('keeps the payment a concurrent delivery stored first', async () => {
    const ports = memoryPorts(approve);
    const first: Payment = {
      orderId: exampleMessages.payment.orderId,
      status: 'declined',
      declineCode: 'card_declined',
      declineReason: 'Declined.',
      amount: 3998,
      currency: 'GBP',
      gateway: 'test-gateway',
      attempts: 1,
      messageId: 'other',
      decidedAt: new Date('2026-11-23T08:59:59.000Z'),
    };
    const racing = {
      ...ports.deps(),
      repository: {
        ...ports.deps().repository,
        findByOrderId: async () => undefined,
        recordResult: async () => first,
      },
    };
    expect(await authorizePayment(message(), meta(), racing)).toEqual({ kind: 'declined', payment: first });
    expect(ports.published.at(-1)?.payment).toBe(first);
  });
});

describe('authorizePayments (a window)', () => {
  const order = (orderId: string, token = 'tok_approve') =>
    message({ orderId, paymentMethodToken: token } as Partial<PaymentMessage>);
  const ids = [
    '11111111-1111-4111-8111-111111111111',
    '22222222-2222-4222-8222-222222222222',
    '33333333-3333-4333-8333-333333333333',
  ];

  it('reads, starts and records the window in one call each; every order keeps its own outcome', async () => {
    const ports = memoryPorts(async (req) =>
      req.token === 'tok_gateway_error'
        ? Promise.reject(new GatewayTransientError('503 from processor'))
        : { status: 'authorized', authorizationId: `auth_${req.idempotencyKey}` },
    );
    await authorizePayment(order(ids[0]!), meta(), ports.deps());
    ports.windowCalls.length = 0;
    const results = await authorizePayments(
      [
        { message: order(ids[0]!), meta: meta({ messageId: 'm1', traceparent: 'trace-1' }) },
        { message: order(ids[1]!), meta: meta({ messageId: 'm2', traceparent: 'trace-2' }) },
        {
          message: order(ids[2]!, 'tok_gateway_error'),
          meta: meta({ messageId: 'm3', traceparent: 'trace-3' }),
        },
      ],
      ports.deps(),
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual([
      'duplicate',
      'authorized',
      'gateway-error',
    ]);
    expect(ports.windowCalls).toEqual(['findByOrderIds', 'startAttempts', 'finishAll']);
    expect(ports.calls.map((c) => c.idempotencyKey)).toEqual([ids[0], ids[1], ids[2]]);
    expect(ports.attempts.map((a) => a.outcome)).toEqual(['authorized', 'authorized', 'error']);
    expect(ports.published.map((p) => p.trace)).toEqual(['trace-of-m1', 'trace-1', 'trace-2']);
  });

  it('fails only the message whose decision the broker did not confirm', async () => {
    const ports = memoryPorts(approve);
    const deps = ports.deps();
    const events = {
      paymentDecided: async (p: Payment) => {
        if (p.orderId === ids[0]) throw new Error('publish not confirmed');
      },
    };
    const results = await authorizePayments(
      [
        { message: order(ids[0]!), meta: meta({ messageId: 'm1' }) },
        { message: order(ids[1]!), meta: meta({ messageId: 'm2' }) },
      ],
      { ...deps, events },
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    // Its payment is stored: its retry announces that one without calling the gateway.
    expect(ports.payments.size).toBe(2);
  });
});
