import Type from 'typebox';
import type { Static } from 'typebox';
import type { SandboxChannel } from './create-message.js';
import { twilioErrors, WHATSAPP_ERROR_CODES } from './twilio-errors.js';
import type { TwilioApiError, WhatsappErrorCode } from './twilio-errors.js';

export const CALLBACK_STATUSES = ['sending', 'sent', 'delivered', 'read', 'failed', 'undelivered'] as const;
export type CallbackStatus = (typeof CALLBACK_STATUSES)[number];

export const FAILURE_STATUSES: ReadonlySet<string> = new Set(['failed', 'undelivered']);

/** Numbers (E.164) with the WhatsApp error each gets. */
const NumberErrors = Type.Optional(
  Type.Array(
    Type.Object(
      {
        number: Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' }),
        code: Type.Unsafe<WhatsappErrorCode>({ type: 'integer', enum: [...WHATSAPP_ERROR_CODES] }),
      },
      { additionalProperties: false },
    ),
    { maxItems: 1000 },
  ),
);

export const SandboxBehaviourSchema = Type.Object(
  {
    failNext: Type.Optional(
      Type.Union([
        Type.Object(
          {
            count: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
            status: Type.Union([Type.Literal(429), Type.Literal(500), Type.Literal(503)]),
          },
          { additionalProperties: false },
        ),
        Type.Null(),
      ]),
    ),
    rejectNumbers: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), { maxItems: 1000 }),
    ),
    delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    callbacks: Type.Optional(Type.Boolean()),
    callbackStatuses: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal('sending'),
          Type.Literal('sent'),
          Type.Literal('delivered'),
          Type.Literal('read'),
          Type.Literal('failed'),
          Type.Literal('undelivered'),
        ]),
        { maxItems: 20 },
      ),
    ),
    callbackDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    callbackRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
    callbackErrorCode: Type.Optional(Type.Integer({ minimum: 1, maximum: 99_999 })),
    whatsappErrors: NumberErrors,
    unsubscribedNumbers: Type.Optional(
      Type.Array(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' }), { maxItems: 1000 }),
    ),
    whatsappCallbackErrors: NumberErrors,
  },
  { additionalProperties: false },
);

/** A number the sandbox says is not on WhatsApp (63003) unless told otherwise: `npm start` shows the SMS fallback with it. */
export const NOT_ON_WHATSAPP_NUMBER = '+447700900999';

/** A number whose WhatsApp messages are accepted, then fail by callback (63016): `npm start` shows the late SMS fallback with it. */
export const FAILS_LATER_ON_WHATSAPP_NUMBER = '+447700900998';

export type SandboxBehaviour = Static<typeof SandboxBehaviourSchema>;

export interface ResolvedSandboxBehaviour {
  /** The next `count` create requests fail with this HTTP status and Twilio's error body. */
  failNext: { count: number; status: 429 | 500 | 503 } | null;
  /** Recipients (exact `To` value or regular expression) refused with 21211. */
  rejectNumbers: string[];
  /** Delay before answering a create request. */
  delayMs: number;
  /** Whether status callbacks are POSTed at all; statuses advance either way. */
  callbacks: boolean;
  /** Statuses an accepted message goes through after `queued`, in order. */
  callbackStatuses: CallbackStatus[];
  /** Wait before each status change. */
  callbackDelayMs: number;
  /** Further tries of a callback the receiver did not answer with 2xx. */
  callbackRetries: number;
  /** ErrorCode sent with `failed` and `undelivered`; 30008 is Twilio's "Unknown error". */
  callbackErrorCode: number;
  /** Numbers WhatsApp cannot reach, with the error a WhatsApp message to them gets (SMS goes through). */
  whatsappErrors: { number: string; code: WhatsappErrorCode }[];
  /** Numbers that unsubscribed from the sender: any message to them gets 21610. */
  unsubscribedNumbers: string[];
  /** Numbers whose WhatsApp messages are accepted (201) and then go `sent`, `failed` with this code (SMS is unaffected). */
  whatsappCallbackErrors: { number: string; code: WhatsappErrorCode }[];
}

export const DEFAULT_SANDBOX_BEHAVIOUR: ResolvedSandboxBehaviour = {
  failNext: null,
  rejectNumbers: [],
  delayMs: 0,
  callbacks: true,
  callbackStatuses: ['sent', 'delivered', 'read'],
  callbackDelayMs: 50,
  callbackRetries: 3,
  callbackErrorCode: 30008,
  whatsappErrors: [{ number: NOT_ON_WHATSAPP_NUMBER, code: 63003 }],
  unsubscribedNumbers: [],
  whatsappCallbackErrors: [{ number: FAILS_LATER_ON_WHATSAPP_NUMBER, code: 63016 }],
};

export class InvalidBehaviourError extends Error {
  override name = 'InvalidBehaviourError';
}

function copy(behaviour: ResolvedSandboxBehaviour): ResolvedSandboxBehaviour {
  return {
    ...behaviour,
    failNext: behaviour.failNext ? { ...behaviour.failNext } : null,
    rejectNumbers: [...behaviour.rejectNumbers],
    callbackStatuses: [...behaviour.callbackStatuses],
    whatsappErrors: behaviour.whatsappErrors.map((e) => ({ ...e })),
    unsubscribedNumbers: [...behaviour.unsubscribedNumbers],
    whatsappCallbackErrors: behaviour.whatsappCallbackErrors.map((e) => ({ ...e })),
  };
}

/**
 * Setting a behaviour replaces every field, so one test's failure injection never leaks
 * into the next test that only meant to change the callback statuses.
 */
export class SandboxBehaviourState {
  private current = copy(DEFAULT_SANDBOX_BEHAVIOUR);
  private rejectMatchers: RegExp[] = [];

  set(behaviour: SandboxBehaviour): void {
    const rejectNumbers = [...(behaviour.rejectNumbers ?? [])];
    // Compile first so an invalid pattern leaves the previous behaviour in force.
    const matchers = rejectNumbers.map((pattern) => {
      try {
        return new RegExp(pattern);
      } catch (error) {
        throw new InvalidBehaviourError(`rejectNumbers: "${pattern}" is not a valid regular expression`, {
          cause: error,
        });
      }
    });
    const defaults = DEFAULT_SANDBOX_BEHAVIOUR;
    this.current = {
      failNext: behaviour.failNext ? { ...behaviour.failNext } : null,
      rejectNumbers,
      delayMs: behaviour.delayMs ?? defaults.delayMs,
      callbacks: behaviour.callbacks ?? defaults.callbacks,
      callbackStatuses: [...(behaviour.callbackStatuses ?? defaults.callbackStatuses)],
      callbackDelayMs: behaviour.callbackDelayMs ?? defaults.callbackDelayMs,
      callbackRetries: behaviour.callbackRetries ?? defaults.callbackRetries,
      callbackErrorCode: behaviour.callbackErrorCode ?? defaults.callbackErrorCode,
      whatsappErrors: (behaviour.whatsappErrors ?? defaults.whatsappErrors).map((e) => ({ ...e })),
      unsubscribedNumbers: [...(behaviour.unsubscribedNumbers ?? defaults.unsubscribedNumbers)],
      whatsappCallbackErrors: (behaviour.whatsappCallbackErrors ?? defaults.whatsappCallbackErrors).map(
        (e) => ({ ...e }),
      ),
    };
    this.rejectMatchers = matchers;
  }

  get(): ResolvedSandboxBehaviour {
    return copy(this.current);
  }

  isRejected(to: string): boolean {
    return this.current.rejectNumbers.some(
      (entry, index) => entry === to || (this.rejectMatchers[index]?.test(to) ?? false),
    );
  }

  /** What Twilio answers a well-formed message to `number` (E.164) on `channel`, or null to accept it. */
  refusalFor(number: string, channel: SandboxChannel): TwilioApiError | null {
    if (this.current.unsubscribedNumbers.includes(number)) return twilioErrors.unsubscribed();
    if (channel !== 'whatsapp') return null;
    const known = this.current.whatsappErrors.find((e) => e.number === number);
    return known ? twilioErrors.whatsapp(known.code) : null;
  }

  /** Uses up one injected failure if any is left and returns its HTTP status. */
  takeInjectedFailure(): 429 | 500 | 503 | null {
    const failNext = this.current.failNext;
    if (!failNext || failNext.count <= 0) return null;
    failNext.count -= 1;
    return failNext.status;
  }
}

/**
 * The callback settings one accepted message runs with: a WhatsApp message to a number in
 * `whatsappCallbackErrors` goes `sent`, then `failed` with that number's code, as Twilio
 * reports most WhatsApp delivery errors after accepting the message.
 */
export function lifecycleFor(
  behaviour: ResolvedSandboxBehaviour,
  message: { channel: SandboxChannel; to: string },
): ResolvedSandboxBehaviour {
  if (message.channel !== 'whatsapp') return behaviour;
  const number = message.to.replace(/^whatsapp:/, '');
  const late = behaviour.whatsappCallbackErrors.find((e) => e.number === number);
  return late
    ? { ...behaviour, callbackStatuses: ['sent', 'failed'], callbackErrorCode: late.code }
    : behaviour;
}

// Keeps the schema's literals and CALLBACK_STATUSES from drifting apart.
type SchemaStatus = NonNullable<SandboxBehaviour['callbackStatuses']>[number];
const _sameStatuses: [SchemaStatus, CallbackStatus] extends [CallbackStatus, SchemaStatus] ? true : never =
  true;
