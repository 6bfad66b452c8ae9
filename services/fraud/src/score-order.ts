import type { FRAUD_DECISIONS, FraudMessage } from '@notify/contracts';
import { domainMatches, emailDomain } from './customer-keys.js';
import type { FraudRules } from './fraud-rules.js';
import { formatMinor, thresholdIn } from './money.js';

export type Decision = (typeof FRAUD_DECISIONS)[number];

export const RULE_IDS = [
  'amount',
  'velocity.email',
  'velocity.phone',
  'velocity.ip',
  'country.mismatch',
  'email.disposable',
  'country.high_risk',
  'sku.quantity',
  'customer.new_high_amount',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export interface FiredRule {
  readonly id: RuleId;
  readonly points: number;
  /** Why it fired, in words an analyst reads without the rules file at hand. */
  readonly detail: string;
}

export interface Assessment {
  readonly score: number;
  readonly decision: Decision;
  readonly rules: readonly FiredRule[];
}

/**
 * What the service knows of other orders: how many share this order's email, phone or
 * IP and were placed less than each window apart from it. This order is never among them.
 */
export interface HistoryCounts {
  readonly email: number;
  readonly phone: number;
  /** null when the order carries no IP address. */
  readonly ip: number | null;
  /** Other orders of this email within the new-customer look-back. */
  readonly emailLookback: number;
}

/** The windows the history port must count in, in minutes, as the rules set them. */
export interface HistoryWindows {
  readonly emailMinutes: number;
  readonly phoneMinutes: number;
  readonly ipMinutes: number;
  readonly lookbackMinutes: number;
}

export function historyWindows(rules: FraudRules): HistoryWindows {
  return {
    emailMinutes: rules.velocity.email.windowMinutes,
    phoneMinutes: rules.velocity.phone.windowMinutes,
    ipMinutes: rules.velocity.ip.windowMinutes,
    lookbackMinutes: rules.newCustomerHighAmount.lookbackDays * 24 * 60,
  };
}

const DETAIL_MAX = 300;
const fired = (id: RuleId, points: number, detail: string): FiredRule => ({
  id,
  points,
  detail: detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX - 1)}…` : detail,
});

/** The highest tier whose `atLeast` the value reaches (tiers are ascending). */
function tierReached<T extends { atLeast: number }>(tiers: readonly T[], reaches: (t: T) => boolean) {
  let hit: T | undefined;
  for (const t of tiers) if (reaches(t)) hit = t;
  return hit;
}

function amountRule(order: FraudMessage, rules: FraudRules): FiredRule | undefined {
  let hit: { points: number; minor: number; atLeast: number; converted: boolean } | undefined;
  for (const tier of rules.amount.tiers) {
    const t = thresholdIn(order.currency, tier.atLeast, rules.money);
    if (order.amount >= t.minor) hit = { points: tier.points, atLeast: tier.atLeast, ...t };
  }
  if (!hit || hit.points === 0) return undefined;
  return fired(
    'amount',
    hit.points,
    `order total ${formatMinor(order.amount, order.currency)} is at least ${formatMinor(hit.minor, order.currency)}` +
      (order.currency === rules.money.referenceCurrency
        ? ''
        : hit.converted
          ? ` (${hit.atLeast} ${rules.money.referenceCurrency} tier)`
          : ` (no ${order.currency} rate: ${hit.atLeast} ${rules.money.referenceCurrency} tier taken 1:1)`),
  );
}

function velocityRule(
  id: RuleId,
  what: string,
  others: number | null,
  config: FraudRules['velocity']['phone'],
): FiredRule | undefined {
  if (others === null) return undefined;
  const count = others + 1;
  const tier = tierReached(config.tiers, (t) => count >= t.atLeast);
  if (!tier || tier.points === 0) return undefined;
  return fired(
    id,
    tier.points,
    `${count} orders from this ${what} within ${config.windowMinutes} minutes of this one ` +
      `(itself included; tier ${tier.atLeast})`,
  );
}

function skuQuantityRule(order: FraudMessage, rules: FraudRules): FiredRule | undefined {
  const { atLeast, points } = rules.skuQuantity;
  if (points === 0) return undefined;
  // The same SKU may appear on several lines; what matters is how many units of it.
  const units = new Map<string, number>();
  for (const item of order.items) units.set(item.sku, (units.get(item.sku) ?? 0) + item.quantity);
  const many = [...units].filter(([, n]) => n >= atLeast).sort((a, b) => b[1] - a[1]);
  if (!many.length) return undefined;
  const list = many.map(([sku, n]) => `${n} x ${sku}`).join(', ');
  return fired('sku.quantity', points, `${list} (at least ${atLeast} units of one SKU)`);
}

function newCustomerRule(order: FraudMessage, history: HistoryCounts, rules: FraudRules) {
  const { atLeast, lookbackDays, points } = rules.newCustomerHighAmount;
  if (points === 0 || history.emailLookback > 0) return undefined;
  const t = thresholdIn(order.currency, atLeast, rules.money);
  if (order.amount < t.minor) return undefined;
  return fired(
    'customer.new_high_amount',
    points,
    `no other order from this email in ${lookbackDays} days and a total of ` +
      `${formatMinor(order.amount, order.currency)} (at least ${formatMinor(t.minor, order.currency)})`,
  );
}

export function decide(score: number, thresholds: FraudRules['decision']): Decision {
  if (score >= thresholds.rejectAt) return 'reject';
  if (score >= thresholds.reviewAt) return 'review';
  return 'approve';
}

/**
 * Scores an order from 0 to 100. Pure: everything it knows of the past comes in
 * `history`, everything it believes comes in `rules`, so every rule is unit-tested
 * and every assessment can be explained from what it returns.
 */
export function scoreOrder(order: FraudMessage, history: HistoryCounts, rules: FraudRules): Assessment {
  const out: (FiredRule | undefined)[] = [];

  out.push(amountRule(order, rules));
  out.push(velocityRule('velocity.email', 'email', history.email, rules.velocity.email));
  out.push(velocityRule('velocity.phone', 'phone number', history.phone, rules.velocity.phone));
  out.push(velocityRule('velocity.ip', 'IP address', history.ip, rules.velocity.ip));

  const billing = order.billingAddress.country;
  const shipping = order.shippingAddress.country;
  if (billing !== shipping && rules.countryMismatch.points > 0) {
    out.push(
      fired(
        'country.mismatch',
        rules.countryMismatch.points,
        `billing country ${billing} differs from shipping country ${shipping}`,
      ),
    );
  }

  const domain = emailDomain(order.customer.email);
  const disposable = rules.disposableEmail.domains.find((d) => domainMatches(domain, d));
  if (disposable && rules.disposableEmail.points > 0) {
    out.push(
      fired(
        'email.disposable',
        rules.disposableEmail.points,
        `email domain ${domain} is a disposable mail provider${domain === disposable ? '' : ` (${disposable})`}`,
      ),
    );
  }

  const risky = new Set(rules.highRiskCountries.countries);
  const where = [
    ...(risky.has(shipping) ? [`shipping country ${shipping}`] : []),
    ...(risky.has(billing) ? [`billing country ${billing}`] : []),
  ];
  if (where.length && rules.highRiskCountries.points > 0) {
    out.push(
      fired(
        'country.high_risk',
        rules.highRiskCountries.points,
        `${where.join(' and ')} on the high-risk list`,
      ),
    );
  }

  out.push(skuQuantityRule(order, rules));
  out.push(newCustomerRule(order, history, rules));

  const rulesFired = out.filter((r): r is FiredRule => r !== undefined);
  const score = Math.min(
    100,
    rulesFired.reduce((sum, r) => sum + r.points, 0),
  );
  return { score, decision: decide(score, rules.decision), rules: rulesFired };
}
