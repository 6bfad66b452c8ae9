import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { classifyTwilioError, WhatsappDeliveryError } from './twilio-failure.js';

// The SDK's own exception, built from a response the way the SDK builds it.
const restException = (status: number, code: number, message: string) =>
  new twilio.RestException({
    statusCode: status,
    body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
  });

describe('classifyTwilioError', () => {
  it('retries throttling and server errors', () => {
    for (const [status, code] of [
      [429, 20429],
      [500, 20500],
      [503, 20503],
      [400, 63018],
    ] as const) {
      const err = classifyTwilioError(restException(status, code, 'try later'));
      expect(err).toBeInstanceOf(WhatsappDeliveryError);
      expect(err).toMatchObject({ retryable: true, httpStatus: status, errorCode: code });
      expect(err.message).toContain(String(status));
    }
  });

  it('makes refused recipients and content permanent, with Twilio’s code and message as detail', () => {
    for (const code of [21211, 21408, 21610, 63016]) {
      const err = classifyTwilioError(restException(400, code, `refused ${code}`));
      expect(err).toBeInstanceOf(WhatsappDeliveryError);
      const rejected = err as WhatsappDeliveryError;
      expect(rejected.retryable).toBe(false);
      expect(rejected.errorCode).toBe(code);
      expect(rejected.configuration).toBe(false);
      expect(rejected.detail).toBe(`twilio-code=${code} status=400 refused ${code}`);
    }
  });

  it('treats rejected credentials as a permanent configuration problem', () => {
    const err = classifyTwilioError(restException(401, 20003, 'Authenticate')) as WhatsappDeliveryError;
    expect(err).toBeInstanceOf(WhatsappDeliveryError);
    expect(err.retryable).toBe(false);
    expect(err.configuration).toBe(true);
    expect(err.message).toContain('credentials');
  });

  it('retries when no HTTP answer came at all', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const err = classifyTwilioError(refused);
    expect(err).toBeInstanceOf(WhatsappDeliveryError);
    expect(err).toMatchObject({ retryable: true, httpStatus: undefined });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('leaves unrelated errors as they are', () => {
    const bug = new TypeError('x is not a function');
    expect(classifyTwilioError(bug)).toBe(bug);
  });
});
