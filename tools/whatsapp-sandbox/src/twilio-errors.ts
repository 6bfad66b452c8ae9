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
