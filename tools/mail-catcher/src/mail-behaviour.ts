import Type from 'typebox';
import type { Static } from 'typebox';

export const MailBehaviourSchema = Type.Object(
  {
    rejectRecipients: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 1000 }), {
        maxItems: 1000,
        description:
          'Recipients answered with 550 at RCPT TO: an exact address (case-insensitive) or a regular expression',
      }),
    ),
    transientFailures: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        description: 'How many of the next DATA commands are answered with 451',
      }),
    ),
    delayMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 600_000, description: 'Delay before every DATA answer' }),
    ),
  },
  { additionalProperties: false },
);

export type MailBehaviour = Static<typeof MailBehaviourSchema>;

export interface ResolvedMailBehaviour {
  rejectRecipients: string[];
  transientFailures: number;
  delayMs: number;
}

export const DEFAULT_MAIL_BEHAVIOUR: ResolvedMailBehaviour = {
  rejectRecipients: [],
  transientFailures: 0,
  delayMs: 0,
};

/**
 * Holds the current misbehaviour. Setting it replaces every field, so a test that sets
 * `{ transientFailures: 2 }` never inherits a rejection list left over from another test.
 */
export class MailBehaviourState {
  private current: ResolvedMailBehaviour = { ...DEFAULT_MAIL_BEHAVIOUR };
  private rejectMatchers: RegExp[] = [];

  set(behaviour: MailBehaviour): void {
    const rejectRecipients = [...(behaviour.rejectRecipients ?? [])];
    // Compile before changing anything so an invalid pattern leaves the old behaviour intact.
    const matchers = rejectRecipients.map((pattern) => {
      try {
        return new RegExp(pattern, 'i');
      } catch (error) {
        throw new InvalidBehaviourError(`rejectRecipients: "${pattern}" is not a valid regular expression`, {
          cause: error,
        });
      }
    });
    this.current = {
      rejectRecipients,
      transientFailures: behaviour.transientFailures ?? 0,
      delayMs: behaviour.delayMs ?? 0,
    };
    this.rejectMatchers = matchers;
  }

  get(): ResolvedMailBehaviour {
    return { ...this.current, rejectRecipients: [...this.current.rejectRecipients] };
  }

  delayMs(): number {
    return this.current.delayMs;
  }

  isRejected(address: string): boolean {
    const lower = address.toLowerCase();
    // An address such as "a+b@example.com" is not a regex for itself, hence the exact comparison first.
    return this.current.rejectRecipients.some(
      (entry, index) => entry.toLowerCase() === lower || (this.rejectMatchers[index]?.test(address) ?? false),
    );
  }

  /** Uses up one transient failure if any are left; true means this DATA must fail. */
  takeTransientFailure(): boolean {
    if (this.current.transientFailures <= 0) return false;
    this.current.transientFailures -= 1;
    return true;
  }
}

export class InvalidBehaviourError extends Error {
  override name = 'InvalidBehaviourError';
}
