import type { FormParams } from './form-body.js';
import { listParam, singleParam } from './form-body.js';
import { twilioErrors } from './twilio-errors.js';
import type { TwilioApiError } from './twilio-errors.js';

/** A WhatsApp message (`whatsapp:` addresses) or an SMS (bare E.164 addresses). */
export type SandboxChannel = 'whatsapp' | 'sms';

export interface CreateMessageInput {
  channel: SandboxChannel;
  to: string;
  from: string;
  body: string | null;
  contentSid: string | null;
  contentVariables: Record<string, string> | null;
  mediaUrls: string[];
  statusCallback: string | null;
}

const WHATSAPP_ADDRESS = /^whatsapp:\+[1-9][0-9]{6,14}$/;
const SMS_ADDRESS = /^\+[1-9][0-9]{6,14}$/;
const CONTENT_SID = /^HX[0-9a-fA-F]{32}$/;
const MAX_BODY_LENGTH = 1600;

function parseContentVariables(raw: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw twilioErrors.invalidContentVariables('not a JSON string');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw twilioErrors.invalidContentVariables('not a JSON object of variable names to values');
  }
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'number' && Number.isFinite(value)) {
      variables[name] = String(value);
    } else if (typeof value === 'string' && value !== '') {
      variables[name] = value;
    } else {
      throw twilioErrors.invalidContentVariables(`variable "${name}" must be a non-empty string`);
    }
  }
  return variables;
}

function isCallbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Checks a create-message form the way Twilio does for a WhatsApp or an SMS sender (the
 * `To` address says which), in the order it reports problems, and throws the matching
 * TwilioApiError. `isRejected` lets the fault controls refuse numbers that are well
 * formed; `refusal` answers what Twilio answers for a number it knows (unsubscribed, not
 * on WhatsApp), after the form itself was found valid.
 */
export function readCreateMessage(
  params: FormParams,
  isRejected: (to: string) => boolean,
  refusal: (to: string, channel: SandboxChannel) => TwilioApiError | null = () => null,
): CreateMessageInput {
  const to = singleParam(params, 'To')?.trim();
  if (!to) throw twilioErrors.missingTo();
  const from = singleParam(params, 'From')?.trim();
  if (!from) throw twilioErrors.missingFrom();
  const channel: SandboxChannel = to.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
  const address = channel === 'whatsapp' ? WHATSAPP_ADDRESS : SMS_ADDRESS;
  if (!address.test(to) || isRejected(to)) throw twilioErrors.invalidTo(to);
  if (!address.test(from)) throw twilioErrors.invalidFrom(from);

  const body = singleParam(params, 'Body');
  const contentSid = singleParam(params, 'ContentSid') || null;
  const mediaUrls = listParam(params, 'MediaUrl');
  if (!body && !contentSid && mediaUrls.length === 0) throw twilioErrors.missingContent();
  if (body !== undefined && body.length > MAX_BODY_LENGTH) throw twilioErrors.bodyTooLong();
  if (contentSid !== null && !CONTENT_SID.test(contentSid)) throw twilioErrors.invalidContentSid(contentSid);

  const rawVariables = singleParam(params, 'ContentVariables');
  let contentVariables: Record<string, string> | null = null;
  if (rawVariables !== undefined && rawVariables !== '') {
    if (contentSid === null) throw twilioErrors.invalidContentVariables('ContentSid must be given as well');
    contentVariables = parseContentVariables(rawVariables);
  }

  const statusCallback = singleParam(params, 'StatusCallback') || null;
  if (statusCallback !== null && !isCallbackUrl(statusCallback)) {
    throw twilioErrors.invalidStatusCallback(statusCallback);
  }

  const refused = refusal(to.replace(/^whatsapp:/, ''), channel);
  if (refused) throw refused;

  return { channel, to, from, body: body || null, contentSid, contentVariables, mediaUrls, statusCallback };
}
