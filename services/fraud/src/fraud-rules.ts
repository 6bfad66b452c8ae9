import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Country, CURRENCY_EXPONENTS, validateSchema } from '@notify/contracts';
import type { CurrencyCode } from '@notify/contracts';
import Type from 'typebox';
import type { Static } from 'typebox';

// The rules are data an operator edits (weights, thresholds, windows, lists) and the
// service checks at start-up: a file that does not fit this schema stops the service
// with a message naming each bad field, instead of scoring orders with a typo.

const closed = { additionalProperties: false } as const;

const Points = Type.Integer({
  minimum: 0,
  maximum: 100,
  description: 'Points added to the score when the rule fires',
});

const CountTier = Type.Object(
  {
    atLeast: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      description: 'Orders in the window, this one included',
    }),
    points: Points,
  },
  closed,
);

const MoneyAmount = Type.Number({
  minimum: 0,
  maximum: 100_000_000_000,
  description: 'Amount in major units of the reference currency (e.g. 1000 for 1,000.00 EUR)',
});

const MoneyTier = Type.Object({ atLeast: MoneyAmount, points: Points }, closed);

const velocityFields = {
  windowMinutes: Type.Integer({
    minimum: 1,
    maximum: 43_200,
    description: 'Orders placed less than this many minutes apart count together',
  }),
  tiers: Type.Array(CountTier, {
    maxItems: 10,
    description: 'Ascending by atLeast; the highest tier reached fires. Empty disables the rule.',
  }),
};

const DomainName = Type.String({
  pattern: '^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$',
  description: 'Lower-case domain; its subdomains match too',
});

export const FraudRulesSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ maxLength: 500 })),
    version: Type.String({
      minLength: 1,
      maxLength: 60,
      description: 'Label of this rule set, stored with every assessment it produced',
    }),
    decision: Type.Object(
      {
        reviewAt: Type.Integer({
          minimum: 0,
          maximum: 100,
          description: 'Score from which an order is reviewed',
        }),
        rejectAt: Type.Integer({
          minimum: 0,
          maximum: 100,
          description: 'Score from which an order is rejected',
        }),
      },
      closed,
    ),
    money: Type.Object(
      {
        referenceCurrency: Type.String({
          pattern: '^[A-Z]{3}$',
          description: 'Currency of every amount in this file',
        }),
        exchangeRates: Type.Record(
          Type.String({ pattern: '^[A-Z]{3}$' }),
          Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }),
          {
            ...closed,
            description:
              'Units of a currency worth one unit of the reference currency (approximate; thresholds only). ' +
              'Orders in a currency missing here are compared 1:1 in major units.',
          },
        ),
      },
      closed,
    ),
    amount: Type.Object({ tiers: Type.Array(MoneyTier, { maxItems: 10 }) }, closed),
    velocity: Type.Object(
      {
        email: Type.Object(
          {
            ...velocityFields,
            ignorePlusTag: Type.Boolean({ description: 'Treat a+tag@x.com as a@x.com' }),
          },
          { ...closed, description: 'Orders from the same customer email' },
        ),
        phone: Type.Object(velocityFields, {
          ...closed,
          description: 'Orders from the same customer phone number',
        }),
        ip: Type.Object(velocityFields, {
          ...closed,
          description: 'Orders from the same client IP address (orders without one are not counted)',
        }),
      },
      closed,
    ),
    countryMismatch: Type.Object(
      { points: Points },
      { ...closed, description: 'Billing and shipping countries differ' },
    ),
    disposableEmail: Type.Object(
      { points: Points, domains: Type.Array(DomainName, { maxItems: 10_000 }) },
      { ...closed, description: 'Customer email at a throw-away mail provider' },
    ),
    highRiskCountries: Type.Object(
      { points: Points, countries: Type.Array(Country, { maxItems: 250 }) },
      { ...closed, description: 'Shipping or billing country on the list' },
    ),
    skuQuantity: Type.Object(
      {
        atLeast: Type.Integer({ minimum: 2, maximum: 100_000, description: 'Units of one SKU in the order' }),
        points: Points,
      },
      { ...closed, description: 'Many units of a single SKU' },
    ),
    newCustomerHighAmount: Type.Object(
      {
        lookbackDays: Type.Integer({ minimum: 1, maximum: 3650 }),
        atLeast: MoneyAmount,
        points: Points,
      },
      { ...closed, description: 'No other order from this email within lookbackDays, and a high amount' },
    ),
  },
  {
    ...closed,
    $id: 'fraud.rules.v1',
    title: 'Fraud scoring rules',
  },
);

export type FraudRules = Static<typeof FraudRulesSchema>;

export class RulesError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`fraud rules ${source} are invalid: ${problems.join('; ')}`);
    this.name = 'RulesError';
  }
}

function isCurrency(code: string): code is CurrencyCode {
  return Object.hasOwn(CURRENCY_EXPONENTS, code);
}

function ascending(name: string, tiers: readonly { atLeast: number }[], problems: string[]) {
  for (let i = 1; i < tiers.length; i++) {
    if (tiers[i]!.atLeast <= tiers[i - 1]!.atLeast) {
      problems.push(`${name}/${i}/atLeast must be greater than the tier before it`);
    }
  }
}

/** Checks a parsed rules document: the schema first, then what a schema cannot say. */
export function parseRules(data: unknown, source = '(inline)'): FraudRules {
  const checked = validateSchema(FraudRulesSchema, data);
  if (!checked.ok) {
    throw new RulesError(
      source,
      checked.errors.map((e) => `${e.field || '(root)'} ${e.message}`),
    );
  }
  const rules = checked.value;
  const problems: string[] = [];
  if (rules.decision.reviewAt > rules.decision.rejectAt) {
    problems.push('/decision/reviewAt must not be greater than /decision/rejectAt');
  }
  if (!isCurrency(rules.money.referenceCurrency)) {
    problems.push('/money/referenceCurrency must be an ISO 4217 currency code');
  }
  for (const [code, rate] of Object.entries(rules.money.exchangeRates)) {
    if (!isCurrency(code)) problems.push(`/money/exchangeRates/${code} is not an ISO 4217 currency code`);
    if (code === rules.money.referenceCurrency && rate !== 1) {
      problems.push(`/money/exchangeRates/${code} is the reference currency and must be 1`);
    }
  }
  ascending('/amount/tiers', rules.amount.tiers, problems);
  ascending('/velocity/email/tiers', rules.velocity.email.tiers, problems);
  ascending('/velocity/phone/tiers', rules.velocity.phone.tiers, problems);
  ascending('/velocity/ip/tiers', rules.velocity.ip.tiers, problems);
  if (problems.length) throw new RulesError(source, problems);
  return rules;
}

/** The rules file shipped with the service; found from src (dev) and from dist (built). */
export const DEFAULT_RULES_FILE = fileURLToPath(new URL('../rules/default.json', import.meta.url));

/** Reads and checks a rules file. Synchronous: it runs once, before the service connects anywhere. */
export function loadRules(file: string = DEFAULT_RULES_FILE): FraudRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RulesError(file, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new RulesError(file, [`is not JSON (${(err as Error).message})`]);
  }
  return parseRules(data, file);
}
