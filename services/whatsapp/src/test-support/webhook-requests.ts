import type { FastifyInstance } from 'fastify';
import twilio from 'twilio';

/**
 * Form POSTs to one of the service's Twilio webhooks, as Twilio sends them: `post` with any
 * signature (or none), `signed` with the one Twilio computes for the public URL.
 */
export function webhookRequests(
  app: () => FastifyInstance,
  path: string,
  publicUrl: string,
  authToken: string,
) {
  const post = (body: Record<string, string>, signature?: string) =>
    app().inject({
      method: 'POST',
      url: path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
      },
      payload: new URLSearchParams(body).toString(),
    });
  const signed = (body: Record<string, string>) =>
    post(body, twilio.getExpectedTwilioSignature(authToken, publicUrl, body));
  return { post, signed };
}
