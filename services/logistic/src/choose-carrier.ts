import type { Carrier, CarrierRule, ShippingRules, Zone } from './shipping-rules.js';

export type RejectionCode = 'unsupported-country' | 'overweight' | 'no-service';

export interface ShippingChoice {
  readonly ok: true;
  readonly carrier: Carrier;
  readonly serviceLevel: string;
  readonly zone: Zone;
  readonly transitBusinessDays: number;
  readonly totalWeightGrams: number;
}

export interface ShippingRefusal {
  readonly ok: false;
  readonly code: RejectionCode;
  /** A sentence a customer service agent can read out. */
  readonly reason: string;
}

/** Weight of the whole order: every unit of every line. */
export function totalWeightGrams(items: readonly { quantity: number; weightGrams: number }[]): number {
  return items.reduce((sum, item) => sum + item.quantity * item.weightGrams, 0);
}

function matches(rule: CarrierRule, zone: Zone, country: string, weightGrams: number): boolean {
  if (rule.zone !== undefined && rule.zone !== zone.id) return false;
  if (rule.countries && !rule.countries.includes(country)) return false;
  return weightGrams >= (rule.minWeightGrams ?? 0) && weightGrams <= rule.maxWeightGrams;
}

/**
 * Picks carrier and service level for a destination country and total weight: the
 * first rule of the table that matches wins. Returns a refusal, never throws, when the
 * order cannot ship; the table itself was checked when it was loaded.
 */
export function chooseCarrier(
  rules: ShippingRules,
  country: string,
  weightGrams: number,
): ShippingChoice | ShippingRefusal {
  const zone = rules.zones.find((z) => z.countries.includes(country));
  if (!zone) {
    return { ok: false, code: 'unsupported-country', reason: `we do not ship to ${country}` };
  }
  if (weightGrams > rules.maxWeightGrams) {
    return {
      ok: false,
      code: 'overweight',
      reason: `total weight ${weightGrams} g exceeds the limit of ${rules.maxWeightGrams} g per shipment`,
    };
  }
  const rule = rules.rules.find((r) => matches(r, zone, country, weightGrams));
  if (!rule) {
    const limit = Math.max(
      0,
      ...rules.rules
        .filter((r) => matches(r, zone, country, r.minWeightGrams ?? 0))
        .map((r) => r.maxWeightGrams),
    );
    if (weightGrams > limit && limit > 0) {
      return {
        ok: false,
        code: 'overweight',
        reason: `total weight ${weightGrams} g exceeds the limit of ${limit} g for shipments to ${country}`,
      };
    }
    return {
      ok: false,
      code: 'no-service',
      reason: `no carrier takes a ${weightGrams} g shipment to ${country}`,
    };
  }
  const carrier = rules.carriers.find((c) => c.id === rule.carrier);
  const transitBusinessDays = zone.transitBusinessDays[rule.serviceLevel];
  if (!carrier || transitBusinessDays === undefined) {
    // checkShippingRules rules this out; reaching it means the table was not checked.
    throw new Error(`shipping rule for ${rule.carrier}/${rule.serviceLevel} does not resolve`);
  }
  return {
    ok: true,
    carrier,
    serviceLevel: rule.serviceLevel,
    zone,
    transitBusinessDays,
    totalWeightGrams: weightGrams,
  };
}
