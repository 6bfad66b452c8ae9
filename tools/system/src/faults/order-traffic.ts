import { randomUUID } from 'node:crypto';

// Drives POST /orders at a steady rate the way a careful client would: every order has
// its own Idempotency-Key, and a 503, a 429, a 5xx or a dropped connection is retried
// with the same key and body until the API answers or the client gives up. Each order
// has its own e-mail address and phone number, so what the SMTP and Twilio stand-ins
// received can be attributed to exactly one order.

const LOCALES = ['en-GB', 'de-DE', 'fr-FR', 'en-US', 'es-ES', 'pt-BR'] as const;
const DESTINATIONS = [
  { country: 'GB', city: 'London', postalCode: 'SW1Y 4JH', currency: 'GBP' },
  { country: 'DE', city: 'Berlin', postalCode: '10115', currency: 'EUR' },
  { country: 'FR', city: 'Paris', postalCode: '75001', currency: 'EUR' },
] as const;

export interface PlacedOrder {
  readonly seq: number;
  readonly idempotencyKey: string;
  readonly email: string;
  /** E.164. */
  readonly phone: string;
  /** Set once the API answered 201 (first time or replayed). */
  orderId?: string;
  outcome: 'pending' | 'accepted' | 'refused' | 'abandoned';
  /** When the 201 arrived (ms since epoch). */
  acceptedAt?: number;
  firstTriedAt?: number;
  attempts: number;
  /** Status of each try; 0 = no HTTP answer (connection refused, reset, timeout). */
  readonly answers: number[];
  refusal?: string;
}

export interface TrafficOptions {
  readonly ratePerSecond: number;
  readonly count: number;
  /** Stop starting new orders after this long, even if fewer than `count` were started. */
  readonly maxDurationMs: number;
  /** How long one order is retried before the client gives up on it. */
  readonly giveUpAfterMs?: number;
}

export interface TrafficRun {
  readonly orders: PlacedOrder[];
  /** Resolves when every order started has an answer or was given up. */
  readonly done: Promise<PlacedOrder[]>;
  /** Resolves once `n` orders of this run were accepted. */
  accepted(n: number): Promise<void>;
  acceptedCount(): number;
  /** Stop starting new orders (those in flight finish). */
  stop(): void;
}

/** Builds order bodies; seq numbers are unique over the whole suite run. */
export class OrderFactory {
  private next = 1;

  constructor(private readonly runTag: string) {}

  create(): { seq: number; email: string; phone: string; body: Record<string, unknown> } {
    const seq = this.next++;
    const email = `order-${this.runTag}-${seq}@example.com`;
    // UK mobile range, unique per order within a run: +447 + 9 digits.
    const phone = `+447${String(seq).padStart(9, '0')}`;
    const d = DESTINATIONS[seq % DESTINATIONS.length]!;
    const locale = LOCALES[seq % LOCALES.length]!;
    const address = {
      name: `Customer ${seq}`,
      line1: `${(seq % 200) + 1} Test Street`,
      city: d.city,
      postalCode: d.postalCode,
      country: d.country,
    };
    const body = {
      customer: { name: `Customer ${seq}`, email, phone, locale },
      currency: d.currency,
      items: [
        {
          sku: `SKU-${(seq % 17) + 1}`,
          name: 'Notes on the Analytical Engine',
          quantity: (seq % 3) + 1,
          unitPrice: 1000 + (seq % 50) * 10,
          weightGrams: 300,
        },
        { sku: 'PEN-7', name: 'Fountain pen', quantity: 1, unitPrice: 1250, weightGrams: 30 },
      ],
      shippingAddress: address,
      billingAddress: address,
      paymentMethodToken: 'tok_approve',
      // One address per order, as from many shoppers: fraud's velocity rules lock per IP,
      // and a single client address would make every order wait on the same lock.
      metadata: { channel: 'fault-suite', ip: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}` },
    };
    return { seq, email, phone, body };
  }
}

const RETRYABLE = new Set([0, 408, 429, 500, 502, 503, 504]);

export function startTraffic(apiUrl: string, factory: OrderFactory, o: TrafficOptions): TrafficRun {
  const orders: PlacedOrder[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let accepted = 0;
  let stopped = false;
  let finished = false;
  const giveUpAfterMs = o.giveUpAfterMs ?? 120_000;
  const intervalMs = 1000 / o.ratePerSecond;
  const started = Date.now();
  const inFlight: Promise<void>[] = [];

  const onAccepted = () => {
    accepted++;
    for (const w of waiters.filter((x) => x.n <= accepted)) {
      w.resolve();
      waiters.splice(waiters.indexOf(w), 1);
    }
  };

  const place = async (order: PlacedOrder, body: string) => {
    let backoff = 200;
    for (;;) {
      order.attempts++;
      order.firstTriedAt ??= Date.now();
      let status = 0;
      let payload: unknown;
      try {
        const r = await fetch(`${apiUrl}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': order.idempotencyKey },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        status = r.status;
        payload = await r.json().catch(() => undefined);
      } catch {
        status = 0;
      }
      order.answers.push(status);
      if (status === 201) {
        order.orderId = (payload as { id?: string } | undefined)?.id;
        order.outcome = order.orderId ? 'accepted' : 'refused';
        if (!order.orderId) order.refusal = '201 without an order id';
        else {
          order.acceptedAt = Date.now();
          onAccepted();
        }
        return;
      }
      if (!RETRYABLE.has(status)) {
        order.outcome = 'refused';
        order.refusal = `${status} ${JSON.stringify(payload).slice(0, 300)}`;
        return;
      }
      if (Date.now() - (order.firstTriedAt ?? Date.now()) > giveUpAfterMs) {
        order.outcome = 'abandoned';
        return;
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 2_000);
    }
  };

  const done = (async () => {
    for (let i = 0; i < o.count && !stopped; i++) {
      const due = started + i * intervalMs;
      if (due - started > o.maxDurationMs) break;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const { seq, email, phone, body } = factory.create();
      const order: PlacedOrder = {
        seq,
        idempotencyKey: `faults-${randomUUID()}`,
        email,
        phone,
        outcome: 'pending',
        attempts: 0,
        answers: [],
      };
      orders.push(order);
      inFlight.push(place(order, JSON.stringify(body)));
    }
    await Promise.all(inFlight);
    // Whoever waits for more acceptances than will ever come is released, not left hanging.
    finished = true;
    for (const w of waiters.splice(0)) w.resolve();
    return orders;
  })();

  return {
    orders,
    done,
    accepted(n) {
      if (accepted >= n || finished) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    acceptedCount: () => accepted,
    stop() {
      stopped = true;
    },
  };
}

/** Longest stretch (ms) during which orders were being tried and none was accepted. */
export function longestAcceptGap(orders: readonly PlacedOrder[]): number {
  const times = orders
    .map((o) => o.acceptedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

export function answerCounts(orders: readonly PlacedOrder[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of orders) {
    for (const a of o.answers) {
      const k = a === 0 ? 'no-answer' : String(a);
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  return counts;
}
