import { describe, expect, it } from 'vitest';
import { combineObservers } from './observer.js';
import type { ConsumerObserver, DeadLetteredInfo, RetryingInfo } from './observer.js';

const about = { queue: 'email', messageId: 'm-1', correlationId: 'o-1', routingKey: 'email' };
const retrying: RetryingInfo = { ...about, attempt: 1, delayMs: 100, message: 'smtp 451' };
const deadLettered: DeadLetteredInfo = {
  ...about,
  attempts: 2,
  reason: 'permanent-failure',
  message: 'gone',
};

function recorder(name: string, calls: string[], fail?: Error): ConsumerObserver {
  return {
    onOutcome: (outcome) => void calls.push(`${name}:${outcome}`),
    onRetrying: async (info) => {
      calls.push(`${name}:retrying:${info.attempt}`);
      if (fail) throw fail;
    },
    onDeadLettered: (info) => {
      calls.push(`${name}:dead-lettered:${info.reason}`);
      if (fail) throw fail;
    },
  };
}

describe('combineObservers', () => {
  it('tells every observer, in order, and skips hooks an observer does not have', async () => {
    const calls: string[] = [];
    const both = combineObservers(recorder('metrics', calls), {}, recorder('events', calls));
    both.onOutcome?.('retry', { queue: 'email', durationMs: 1 });
    await both.onRetrying?.(retrying);
    await both.onDeadLettered?.(deadLettered);
    expect(calls).toEqual([
      'metrics:retry',
      'events:retry',
      'metrics:retrying:1',
      'events:retrying:1',
      'metrics:dead-lettered:permanent-failure',
      'events:dead-lettered:permanent-failure',
    ]);
  });

  it('tells the later observers when an earlier one fails, then reports the failure', async () => {
    const calls: string[] = [];
    const both = combineObservers(
      recorder('first', calls, new Error('first failed')),
      recorder('second', calls),
    );
    await expect(both.onRetrying?.(retrying)).rejects.toThrow('first failed');
    await expect(both.onDeadLettered?.(deadLettered)).rejects.toThrow('first failed');
    expect(calls).toEqual([
      'first:retrying:1',
      'second:retrying:1',
      'first:dead-lettered:permanent-failure',
      'second:dead-lettered:permanent-failure',
    ]);
  });
});
