import { describe, expect, it } from 'vitest';
import { parsePaths } from './broker-binaries.js';

describe('rabbitmq4 paths', () => {
  it('reads one name=path a line, paths with = in them included, and skips anything else', () => {
    const out = [
      'version=4.0.5-6+deb13u2',
      'rabbitmq-server=/c/root/usr/lib/rabbitmq/lib/rabbitmq_server-4.0.5/sbin/rabbitmq-server',
      'odd=/a=b',
      '',
      'rabbitmq4: a warning without a name',
    ].join('\n');
    expect(parsePaths(out)).toEqual({
      version: '4.0.5-6+deb13u2',
      'rabbitmq-server': '/c/root/usr/lib/rabbitmq/lib/rabbitmq_server-4.0.5/sbin/rabbitmq-server',
      odd: '/a=b',
    });
  });
});
