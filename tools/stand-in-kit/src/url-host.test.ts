import { describe, expect, it } from 'vitest';
import { urlHost } from './url-host.js';

describe('urlHost', () => {
  it('reports loopback for a listener on every IPv4 or IPv6 interface', () => {
    expect(urlHost('0.0.0.0')).toBe('127.0.0.1');
    expect(urlHost('::')).toBe('127.0.0.1');
  });

  it('puts an IPv6 address in brackets so a port can follow it', () => {
    expect(urlHost('::1')).toBe('[::1]');
  });

  it('keeps an IPv4 address or a host name as it is', () => {
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
    expect(urlHost('mail-catcher')).toBe('mail-catcher');
  });
});
