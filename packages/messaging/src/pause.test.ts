import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PAUSE_POLICY, pauseDelay } from './backoff.js';
import { OutagePause } from './pause.js';
import type { Attempt, Outage } from './pause.js';
import { waitFor } from './testing/index.js';

const db: Outage = { dependency: 'database', reason: 'connection refused' };

/** A pause whose backoff waits only until the test says `tick`, recording each delay asked for. */
function setup() {
  const calls: string[] = [];
  const delays: number[] = [];
  const waiting: (() => void)[] = [];
  const pause = new OutagePause<string>({
    stopConsuming: async () => void calls.push('stop consuming'),
    startConsuming: async () => void calls.push('start consuming'),
    policy: { initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0 },
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        delays.push(ms);
        waiting.push(resolve);
        signal.addEventListener('abort', () => resolve());
      }),
  });
  stops.push(() => pause.stop());
  /** Ends the backoff wait under way, once there is one. */
  const tick = async () => {
    await waitFor(() => waiting.length > 0, { what: 'a backoff wait' });
    waiting.shift()!();
  };
  return { pause, calls, delays, tick, waiting };
}

/** An attempt that reports the outage while `down()` and otherwise settles with `result`. */
function attempt(down: () => boolean, result: string, tries: string[] = []): Attempt<string> {
  const a: Attempt<string> = async () => {
    tries.push(result);
    return down() ? { outage: db, next: a } : { done: result };
  };
  return a;
}

const live = { returned: false };
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

describe('outage pause', () => {
  it('consumes until an outage, then stops consuming and reports which dependency is down and why', async () => {
    const { pause, calls } = setup();
    expect(pause.status).toEqual({ state: 'consuming' });
    void pause.hold(
      db,
      attempt(() => true, 'm1'),
      live,
    );
    expect(pause.status).toMatchObject({ state: 'paused', ...db, held: 1 });
    await waitFor(() => calls.length === 1, { what: 'consumption stopped' });
    expect(calls).toEqual(['stop consuming']);
  });

  it('tries the held message after 0.5 s, doubling the wait while the dependency stays down, up to 30 s', async () => {
    const { pause, delays, tick } = setup();
    const tries: string[] = [];
    void pause.hold(
      db,
      attempt(() => true, 'm1', tries),
      live,
    );
    for (let i = 0; i < 9; i++) await tick();
    await waitFor(() => tries.length === 9, { what: 'nine tries' });
    expect(delays.slice(0, 9)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('spreads each wait by the jitter', () => {
    const policy = { ...DEFAULT_PAUSE_POLICY, jitter: 0.2 };
    expect(pauseDelay(policy, 0, () => 0)).toBe(400);
    expect(pauseDelay(policy, 0, () => 1)).toBe(600);
    expect(pauseDelay(policy, 10, () => 0.5)).toBe(30_000);
    expect(pauseDelay(policy, 1_000, () => 1)).toBe(36_000);
  });

  it('once a held message goes through, settles it with its result and consumes again', async () => {
    const { pause, calls, tick } = setup();
    let down = true;
    const settled = pause.hold(
      db,
      attempt(() => down, 'm1'),
      live,
    );
    await tick();
    await waitFor(() => pause.status.state === 'paused' && calls.length === 1, { what: 'paused' });
    down = false;
    await tick();
    expect(await settled).toBe('m1');
    await waitFor(() => calls.length === 2, { what: 'consuming again' });
    expect(calls).toEqual(['stop consuming', 'start consuming']);
    expect(pause.status).toEqual({ state: 'consuming' });
  });

  it('holds every message an outage catches, tries the next ones at once after one goes through, and consumes again only when none is left', async () => {
    const { pause, calls, tick, delays } = setup();
    let down = true;
    const tries: string[] = [];
    const results = ['m1', 'm2', 'm3'].map((m) =>
      pause.hold(
        db,
        attempt(() => down, m, tries),
        live,
      ),
    );
    expect(pause.status).toMatchObject({ held: 3 });
    await tick();
    await waitFor(() => tries.length === 1, { what: 'first try' });
    // The first try found the dependency down; the message went to the back.
    expect(tries).toEqual(['m1']);
    down = false;
    await tick();
    expect(await Promise.all(results)).toEqual(['m1', 'm2', 'm3']);
    expect(tries).toEqual(['m1', 'm2', 'm3', 'm1']);
    expect(delays).toEqual([500, 1_000]);
    await waitFor(() => calls.length === 2, { what: 'consuming again' });
    expect(calls).toEqual(['stop consuming', 'start consuming']);
  });

  it('starts its waits from 0.5 s again after progress', async () => {
    const { pause, tick, delays } = setup();
    let left = 2;
    // Each try lets one message through, then the dependency fails the next one.
    const flaky = (m: string): Attempt<string> => {
      const a: Attempt<string> = async () => (left > 0 && left-- ? { done: m } : { outage: db, next: a });
      return a;
    };
    void pause.hold(db, flaky('m1'), live);
    void pause.hold(db, flaky('m2'), live);
    void pause.hold(db, flaky('m3'), live);
    await tick();
    await tick();
    await tick();
    await waitFor(() => delays.length === 4, { what: 'a fourth wait' });
    expect(delays).toEqual([500, 500, 1_000, 2_000]);
  });

  it('keeps reporting the latest outage of a held message, and since when it is paused', async () => {
    const { pause, tick } = setup();
    const smtp: Outage = { dependency: 'smtp', reason: 'greeting timeout' };
    const a: Attempt<string> = async () => ({ outage: smtp, next: a });
    void pause.hold(db, a, live);
    const since = pause.status.state === 'paused' ? pause.status.since : null;
    await tick();
    await waitFor(() => pause.status.state === 'paused' && pause.status.dependency === 'smtp', {
      what: 'the latest outage',
    });
    expect(pause.status).toEqual({ state: 'paused', ...smtp, since, held: 1 });
  });

  it('keeps a message whose try threw, under the dependency already down', async () => {
    const { pause, tick } = setup();
    let tries = 0;
    const throwing: Attempt<string> = async () => {
      tries++;
      if (tries === 1) throw new Error('socket hang up');
      return { done: 'm1' };
    };
    const settled = pause.hold(db, throwing, live);
    await tick();
    await waitFor(() => tries === 1, { what: 'a try' });
    await waitFor(() => pause.status.state === 'paused' && pause.status.reason === 'socket hang up', {
      what: 'the throw reported',
    });
    expect(pause.status).toMatchObject({ dependency: 'database' });
    await tick();
    expect(await settled).toBe('m1');
  });

  it('lets go of a message whose channel closed without trying it, and consumes again when nothing is held', async () => {
    const { pause, calls, tick } = setup();
    const tries: string[] = [];
    const handle = { returned: false };
    const settled = pause.hold(
      db,
      attempt(() => false, 'm1', tries),
      handle,
    );
    handle.returned = true;
    await tick();
    expect(await settled).toBeUndefined();
    expect(tries).toEqual([]);
    await waitFor(() => calls.length === 2, { what: 'consuming again' });
    expect(pause.status).toEqual({ state: 'consuming' });
  });

  it('on stop, lets go of every held message, does not consume again, and lets go of later ones at once', async () => {
    const { pause, calls } = setup();
    const held = [
      pause.hold(
        db,
        attempt(() => true, 'm1'),
        live,
      ),
      pause.hold(
        db,
        attempt(() => true, 'm2'),
        live,
      ),
    ];
    await waitFor(() => calls.length === 1, { what: 'paused' });
    await pause.stop();
    expect(await Promise.all(held)).toEqual([undefined, undefined]);
    expect(
      await pause.hold(
        db,
        attempt(() => false, 'm3'),
        live,
      ),
    ).toBeUndefined();
    expect(calls).toEqual(['stop consuming']);
  });
});
