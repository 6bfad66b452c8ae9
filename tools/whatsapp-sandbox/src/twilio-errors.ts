/** The JSON body Twilio answers errors with; the twilio SDK turns it into a RestException. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export class TwilioApiError extends Error {
  override name = 'TwilioApiError';

  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  toBody(): TwilioErrorBody {
    return {
      code: this.code,
      message: this.message,
      more_info: `https://www.twilio.com/docs/errors/${this.code}`,
      status: this.status,
    };
  }
}

/**
 * The WhatsApp errors the sandbox answers for configured numbers: the ones where WhatsApp
 * cannot reach the number but SMS may (Twilio's mapping of WhatsApp's codes).
 */
export const WHATSAPP_ERROR_MESSAGES = {
  63003: 'Channel could not find To address',
  63016:
    'Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.',
  63024: 'Invalid message recipient',
  63027: 'Template does not exist for a language and locale',
  63032: 'We cannot send this message to this user because of a WhatsApp limitation.',
} as const;
export type WhatsappErrorCode = keyof typeof WHATSAPP_ERROR_MESSAGES;
export const WHATSAPP_ERROR_CODES = Object.keys(WHATSAPP_ERROR_MESSAGES).map(Number) as WhatsappErrorCode[];

export const twilioErrors = {
  authenticate: () => new TwilioApiError(401, 20003, 'Authenticate'),
  notFound: (path: string) => new TwilioApiError(404, 20404, `The requested resource ${path} was not found`),
  missingTo: () => new TwilioApiError(400, 21604, "A 'To' phone number is required."),
  missingFrom: () => new TwilioApiError(400, 21603, "A 'From' phone number is required."),
  invalidTo: (to: string) => new TwilioApiError(400, 21211, `Invalid 'To' Phone Number: ${to}`),
  invalidFrom: (from: string) => new TwilioApiError(400, 21212, `Invalid 'From' Phone Number: ${from}`),
  missingContent: () =>
    new TwilioApiError(400, 21619, 'A text message body, media URL or content SID must be specified.'),
  bodyTooLong: () =>
    new TwilioApiError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.'),
  invalidContentSid: (sid: string) => new TwilioApiError(400, 21655, `The ContentSid is Invalid: ${sid}`),
  invalidContentVariables: (reason: string) =>
    new TwilioApiError(400, 21656, `The ContentVariables Parameter is invalid: ${reason}`),
  invalidStatusCallback: (url: string) => new TwilioApiError(400, 21609, `Invalid 'StatusCallback': ${url}`),
  unsubscribed: () => new TwilioApiError(400, 21610, 'Attempt to send to unsubscribed recipient'),
  whatsapp: (code: WhatsappErrorCode) => new TwilioApiError(400, code, WHATSAPP_ERROR_MESSAGES[code]),
  injected: (status: 429 | 500 | 503) => {
    switch (status) {
      case 429:
        return new TwilioApiError(429, 20429, 'Too Many Requests');
      case 500:
        return new TwilioApiError(500, 20500, 'Internal Server Error');
      case 503:
        return new TwilioApiError(503, 20503, 'Service Unavailable');
    }
  },
};
