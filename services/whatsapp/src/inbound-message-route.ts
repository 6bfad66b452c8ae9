import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { INBOUND_PATH } from './config.js';
import { MalformedInboundError, recordInboundMessage } from './record-inbound-message.js';
import type { PhoneOptOuts } from './send-order-whatsapp.js';
import { problem, registerTwilioWebhook } from './twilio-webhook.js';

export interface InboundRouteDeps {
  readonly authToken: string;
  /** The URL as Twilio sees it (what it signed). */
  readonly inboundUrl: () => string;
  readonly optOuts: PhoneOptOuts;
  readonly logger: Logger;
}

/** An empty TwiML answer: no reply to the customer (Twilio answers STOP on SMS itself). */
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

/**
 * POST /twilio/inbound: Twilio's incoming-message webhook of the WhatsApp and SMS senders,
 * signed like the status callbacks. STOP opts the number out of both, START back in;
 * any other message is acknowledged and ignored.
 */
export function inboundMessageRoutes(deps: InboundRouteDeps) {
  const log = deps.logger.child({ component: 'inbound-message' });
  return async (app: FastifyInstance) => {
    await registerTwilioWebhook(app, {
      path: INBOUND_PATH,
      authToken: deps.authToken,
      url: deps.inboundUrl,
      log,
      what: 'incoming message',
      handle: async (fields, _req, reply) => {
        try {
          await recordInboundMessage(fields, { optOuts: deps.optOuts, logger: log });
          return reply.type('text/xml').send(EMPTY_TWIML);
        } catch (err) {
          if (err instanceof MalformedInboundError) return problem(reply, 400, 'Bad Request', err.message);
          log.error({ err }, 'could not record an incoming opt-out');
          return problem(reply, 503, 'Service Unavailable', 'the opt-out could not be recorded; try again');
        }
      },
    });
  };
}
