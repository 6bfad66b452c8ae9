import { describe, expect, it } from 'vitest';
import { consumerMetrics, createRegistry } from './metrics.js';

describe('consumerMetrics', () => {
  it('counts settled messages by queue and outcome, and windows that fell back to one message at a time', async () => {
    const registry = createRegistry('test');
    const observer = consumerMetrics(registry);
    observer.onOutcome?.('ack', { queue: 'email', durationMs: 12 });
    observer.onOutcome?.('ack', { queue: 'email', durationMs: 3 });
    observer.onWindowFailed?.({
      queue: 'email',
      stage: 'handler',
      size: 32,
      reason: 'syntax error at or near "FROM"',
    });
    const text = await registry.metrics();
    expect(text).toContain('messages_processed_total{queue="email",outcome="ack",service="test"} 2');
    expect(text).toContain('consumer_windows_failed_total{queue="email",stage="handler",service="test"} 1');
  });
});
