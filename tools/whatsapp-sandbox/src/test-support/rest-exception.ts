import twilio from 'twilio';

export type RestException = InstanceType<typeof twilio.RestException>;

/** Awaits a call that must fail the way the twilio SDK reports API errors. */
export async function expectRestException(call: () => Promise<unknown>): Promise<RestException> {
  try {
    await call();
  } catch (error) {
    if (error instanceof twilio.RestException) return error;
    throw error;
  }
  throw new Error('expected the twilio SDK to throw a RestException, but the call succeeded');
}
