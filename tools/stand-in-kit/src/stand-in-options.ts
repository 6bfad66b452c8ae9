import type { Logger } from 'pino';

/** The start options every stand-in takes, besides its own ports and protocol settings. */
export interface StandInOptions {
  /** Interface to listen on. Defaults to 127.0.0.1: nothing outside the machine should reach it. */
  host?: string;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** How many messages are kept; older ones are dropped. Defaults to the stand-in's DEFAULT_MAX_MESSAGES. */
  maxMessages?: number;
}
