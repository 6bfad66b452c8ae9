import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser.js';

describe('SseParser', () => {
  it('reads named events, skips comments and joins data lines', () => {
    const p = new SseParser();
    const events = p.push(
      'retry: 3000\n\n: keep-alive\n\nevent: order\nid: 7\ndata: {"a":1}\n\ndata: one\ndata: two\n\n',
    );
    expect(events).toEqual([
      { event: 'order', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'one\ntwo', id: '7' },
    ]);
  });

  it('completes an event split across chunks at any point, including inside a CRLF', () => {
    const text = 'event: order\r\ndata: {"id":"x"}\r\n\r\nevent: ready\r\ndata: {}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const events = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(events, `cut at ${cut}`).toEqual([
        { event: 'order', data: '{"id":"x"}', id: undefined },
        { event: 'ready', data: '{}', id: undefined },
      ]);
    }
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('event: order\ndata: {}\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'order', data: '{}', id: undefined }]);
  });
});
