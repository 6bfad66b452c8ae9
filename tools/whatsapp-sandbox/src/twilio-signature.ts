import { createHmac } from 'node:crypto';

/**
 * X-Twilio-Signature as Twilio computes it for a form-encoded POST: HMAC-SHA1 keyed with the
 * auth token over the exact URL followed by every parameter, sorted by name, as name then
 * value with no separators, encoded as base64. The URL is used exactly as the receiver
 * configured it, query string included, because that is what the receiver validates against.
 */
export function computeTwilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    data += name + params[name];
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}
