import { HttpProblem, statusTitle } from './problem.js';

/** A held stream slot; release() is idempotent. */
export interface StreamSlot {
  release(): void;
}

/**
 * Counts open event streams per process and per client. A client over its own cap gets
 * `429` (it can close one of its streams); a process over its cap gets `503` (another
 * replica may have room). Both are problem documents with Retry-After.
 */
export class StreamSlots {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerClient: number,
  ) {}

  get open(): number {
    return this.total;
  }

  openFor(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /** Takes a slot for `client`, or throws the problem that says why not. */
  acquire(client: string): StreamSlot {
    const mine = this.openFor(client);
    if (mine >= this.maxPerClient) {
      throw new HttpProblem(429, statusTitle(429), {
        detail: `this client already has ${mine} open event streams, the most allowed; close one first`,
        headers: { 'retry-after': '5' },
      });
    }
    if (this.total >= this.maxTotal) {
      throw new HttpProblem(503, statusTitle(503), {
        detail: 'too many open event streams on this server; retry later',
        headers: { 'retry-after': '5' },
      });
    }
    this.total++;
    this.perClient.set(client, mine + 1);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.total--;
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
      },
    };
  }
}
