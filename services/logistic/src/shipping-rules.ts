import { readFileSync } from 'node:fs';
import { Country, validateSchema } from '@notify/contracts';
import Type from 'typebox';
import type { Static } from 'typebox';

// The rule table that decides how an order ships. It is data, not code: operations
// change carriers, zones and limits by editing a JSON file (LOGISTIC_RULES_FILE), and
// the service refuses to start with a table that does not hold together.

const Id = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' });
const IsoDate = Type.String({ format: 'date' });
const Grams = Type.Integer({ minimum: 1, maximum: 100_000_000 });

export const TrackingFormatSchema = Type.Union([
  Type.Object(
    {
      scheme: Type.Literal('s10'),
      /** Two letters naming the postal service (UPU S10), e.g. RR registered, CP parcel, EE express. */
      serviceIndicator: Type.String({ pattern: '^[A-Z]{2}$' }),
      originCountry: Country,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      scheme: Type.Literal('luhn'),
      prefix: Type.String({ pattern: '^[A-Z]{2,6}$' }),
      serialDigits: Type.Integer({ minimum: 6, maximum: 15 }),
    },
    { additionalProperties: false },
  ),
]);

export const ShippingRulesSchema = Type.Object(
  {
    /** No order heavier than this ships, whatever the destination. */
    maxWeightGrams: Grams,
    /** Orders at or after this hour (UTC) leave the next business day; 24 means no cut-off. */
    dispatchCutoffHourUtc: Type.Integer({ minimum: 0, maximum: 24 }),
    /** Non-business days besides weekends at the shipping origin. */
    holidays: Type.Array(IsoDate, { maxItems: 1000 }),
    zones: Type.Array(
      Type.Object(
        {
          id: Id,
          countries: Type.Array(Country, { minItems: 1, maxItems: 250 }),
          /** Transit time from dispatch to delivery, per service level, in business days. */
          transitBusinessDays: Type.Record(Id, Type.Integer({ minimum: 0, maximum: 60 }), {
            additionalProperties: false,
            minProperties: 1,
          }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    carriers: Type.Array(
      Type.Object(
        { id: Id, name: Type.String({ minLength: 1, maxLength: 60 }), tracking: TrackingFormatSchema },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    /** Tried in order; the first rule whose destination and weight match decides. */
    rules: Type.Array(
      Type.Object(
        {
          /** Matches the destinations of a zone; with `countries`, only those countries of it. */
          zone: Type.Optional(Id),
          countries: Type.Optional(Type.Array(Country, { minItems: 1, maxItems: 250 })),
          minWeightGrams: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
          maxWeightGrams: Grams,
          carrier: Id,
          serviceLevel: Id,
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1000 },
    ),
  },
  { additionalProperties: false },
);

export type ShippingRules = Static<typeof ShippingRulesSchema>;
export type Zone = ShippingRules['zones'][number];
export type Carrier = ShippingRules['carriers'][number];
export type CarrierRule = ShippingRules['rules'][number];

/**
 * Checks a parsed rule table: its shape against the schema, then what a schema cannot
 * say (ids unique, references resolve, a country in one zone only, every rule's service
 * level has a transit time in every zone it can apply to). Returns the problems found.
 */
export function checkShippingRules(
  data: unknown,
): { ok: true; rules: ShippingRules } | { ok: false; problems: string[] } {
  const shape = validateSchema(ShippingRulesSchema, data);
  if (!shape.ok) {
    return { ok: false, problems: shape.errors.map((e) => `${e.field || '(root)'} ${e.message}`) };
  }
  const rules = shape.value;
  const problems: string[] = [];

  const duplicates = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);
  for (const id of new Set(duplicates(rules.zones.map((z) => z.id))))
    problems.push(`zone "${id}" is defined twice`);
  for (const id of new Set(duplicates(rules.carriers.map((c) => c.id))))
    problems.push(`carrier "${id}" is defined twice`);

  const zoneOf = new Map<string, string>();
  for (const zone of rules.zones) {
    for (const country of zone.countries) {
      const other = zoneOf.get(country);
      if (other && other !== zone.id)
        problems.push(`country ${country} is in zones "${other}" and "${zone.id}"`);
      else zoneOf.set(country, zone.id);
    }
  }

  rules.rules.forEach((rule, i) => {
    const where = `rules/${i}`;
    if (!rules.carriers.some((c) => c.id === rule.carrier))
      problems.push(`${where} names unknown carrier "${rule.carrier}"`);
    if ((rule.minWeightGrams ?? 0) > rule.maxWeightGrams)
      problems.push(`${where} has minWeightGrams above maxWeightGrams`);
    let zones = rules.zones;
    if (rule.zone !== undefined) {
      zones = zones.filter((z) => z.id === rule.zone);
      if (zones.length === 0) problems.push(`${where} names unknown zone "${rule.zone}"`);
    }
    if (rule.countries) {
      for (const c of rule.countries) {
        const z = zoneOf.get(c);
        if (!z) problems.push(`${where} names ${c}, which is in no zone (its transit time is unknown)`);
        else if (rule.zone !== undefined && z !== rule.zone)
          problems.push(`${where} names ${c}, which is not in zone "${rule.zone}"`);
      }
      zones = zones.filter((z) => rule.countries!.some((c) => zoneOf.get(c) === z.id));
    }
    for (const z of zones) {
      if (z.transitBusinessDays[rule.serviceLevel] === undefined) {
        problems.push(
          `${where} uses service level "${rule.serviceLevel}", which zone "${z.id}" has no transit time for`,
        );
      }
    }
  });
  return problems.length ? { ok: false, problems } : { ok: true, rules };
}

/** The shipping rules shipped with the service, next to `dist/` and `src/`. */
export const DEFAULT_RULES_FILE = new URL('../config/shipping-rules.json', import.meta.url);

export class ShippingRulesError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`shipping rules in ${file} are invalid: ${problems.join('; ')}`);
    this.name = 'ShippingRulesError';
  }
}

/** Reads and checks a rule table; throws ShippingRulesError naming every problem. */
export function loadShippingRules(file: string | URL = DEFAULT_RULES_FILE): ShippingRules {
  const name = file instanceof URL ? file.pathname : file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ShippingRulesError(name, [
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ShippingRulesError(name, [`is not JSON (${(err as Error).message})`]);
  }
  const checked = checkShippingRules(data);
  if (!checked.ok) throw new ShippingRulesError(name, checked.problems);
  return checked.rules;
}
