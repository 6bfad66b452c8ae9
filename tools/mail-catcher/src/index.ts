export { startMailCatcher, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGES } from './mail-catcher.js';
export type { MailCatcher, MailCatcherOptions } from './mail-catcher.js';
export { InvalidBehaviourError, DEFAULT_MAIL_BEHAVIOUR, MailBehaviourSchema } from './mail-behaviour.js';
export type { MailBehaviour, ResolvedMailBehaviour } from './mail-behaviour.js';
export { DEFAULT_WAIT_TIMEOUT_MS } from '@notify/stand-in-kit';
export type { MailPredicate } from './mail-store.js';
export type { MailAddress, ReceivedAttachment, ReceivedMail } from './received-mail.js';
