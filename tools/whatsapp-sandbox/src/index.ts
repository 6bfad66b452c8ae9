export {
  startWhatsappSandbox,
  DEV_ACCOUNT_SID,
  DEV_AUTH_TOKEN,
  DEFAULT_MAX_MESSAGES,
} from './whatsapp-sandbox.js';
export type { WhatsappSandbox, WhatsappSandboxOptions } from './whatsapp-sandbox.js';
export {
  CALLBACK_STATUSES,
  DEFAULT_SANDBOX_BEHAVIOUR,
  InvalidBehaviourError,
  FAILS_LATER_ON_WHATSAPP_NUMBER,
  NOT_ON_WHATSAPP_NUMBER,
  SandboxBehaviourSchema,
} from './sandbox-behaviour.js';
export { WHATSAPP_ERROR_CODES } from './twilio-errors.js';
export type { WhatsappErrorCode } from './twilio-errors.js';
export type { CallbackStatus, ResolvedSandboxBehaviour, SandboxBehaviour } from './sandbox-behaviour.js';
export type { CallbackAttempt, MessageResource, SandboxMessage, StatusChange } from './sandbox-message.js';
export type { MessagePredicate } from './message-store.js';
export { DEFAULT_WAIT_TIMEOUT_MS } from '@notify/stand-in-kit';
export type { TwilioErrorBody } from './twilio-errors.js';
/** Signs a webhook request as Twilio does, for tests that post what Twilio would (an incoming STOP). */
export { computeTwilioSignature } from './twilio-signature.js';
