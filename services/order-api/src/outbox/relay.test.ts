import { ContractValidationError } from '@notify/contracts';
import {
  BrokerUnavailableError,
  PublishNotConfirmedError,
  PublishTimeoutError,
  UnroutableError,
} from '@notify/messaging';
import { describe, expect, it } from 'vitest';
import { isBrokerLevel } from './relay.js';

describe('isBrokerLevel', () => {
  it('blames the message only for a returned message or one that does not fit its contract', () => {
    expect(isBrokerLevel(new UnroutableError('notification', 'email', 'NO_ROUTE'))).toBe(false);
    expect(isBrokerLevel(new ContractValidationError('notification.email.v1', []))).toBe(false);
  });

  it("blames the broker for the publisher's unavailable, timeout and unconfirmed errors, and anything else", () => {
    expect(isBrokerLevel(new BrokerUnavailableError('connection closed'))).toBe(true);
    expect(isBrokerLevel(new PublishTimeoutError(1000))).toBe(true);
    expect(isBrokerLevel(new PublishNotConfirmedError('nacked'))).toBe(true);
    expect(isBrokerLevel(new Error('socket hang up'))).toBe(true);
  });

  it("goes by the error's class, not by its name", () => {
    const lookalike = Object.assign(new Error('returned'), { name: 'UnroutableError' });
    expect(isBrokerLevel(lookalike)).toBe(true);
  });
});
