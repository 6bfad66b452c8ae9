// Delivery estimates count business days in UTC calendar dates (YYYY-MM-DD). Weekends
// and the configured holidays are not business days. Holidays are the shipping origin's:
// that is where parcels are handed over and where most of the transit time is spent.

const DAY_MS = 86_400_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDate(date: string): number {
  if (!ISO_DATE.test(date)) throw new Error(`"${date}" is not a YYYY-MM-DD date`);
  const ms = Date.parse(`${date}T00:00:00.000Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw new Error(`"${date}" is not a calendar date`);
  }
  return ms;
}

const formatDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function isBusinessDay(date: string, holidays: ReadonlySet<string> = new Set()): boolean {
  const weekday = new Date(parseDate(date)).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !holidays.has(date);
}

/** The first business day strictly after `date`. */
export function nextBusinessDay(date: string, holidays: ReadonlySet<string> = new Set()): string {
  let ms = parseDate(date);
  // A run of non-business days is bounded (weekends plus holidays); a year guards against a bad list.
  for (let i = 0; i < 366; i++) {
    ms += DAY_MS;
    if (isBusinessDay(formatDate(ms), holidays)) return formatDate(ms);
  }
  throw new Error(`no business day within a year after ${date}`);
}

/** `date` moved forward by `days` business days (0 returns `date` itself). */
export function addBusinessDays(
  date: string,
  days: number,
  holidays: ReadonlySet<string> = new Set(),
): string {
  if (!Number.isInteger(days) || days < 0) throw new Error('business days must be a whole number >= 0');
  let current = formatDate(parseDate(date));
  for (let i = 0; i < days; i++) current = nextBusinessDay(current, holidays);
  return current;
}

/**
 * The day the parcel leaves: the order's day when it is a business day and the order
 * came in before the daily cut-off hour (UTC), otherwise the next business day.
 */
export function dispatchDate(
  orderedAt: Date,
  cutoffHourUtc: number,
  holidays: ReadonlySet<string> = new Set(),
): string {
  if (Number.isNaN(orderedAt.getTime())) throw new Error('order time is not a valid date');
  const day = orderedAt.toISOString().slice(0, 10);
  if (isBusinessDay(day, holidays) && orderedAt.getUTCHours() < cutoffHourUtc) return day;
  return nextBusinessDay(day, holidays);
}

export interface DeliveryEstimateInput {
  readonly orderedAt: Date;
  readonly transitBusinessDays: number;
  /** Orders at or after this hour (UTC) are dispatched the next business day; 24 means no cut-off. */
  readonly cutoffHourUtc: number;
  readonly holidays?: ReadonlySet<string>;
}

/** Estimated delivery date (YYYY-MM-DD): dispatch day plus the zone's transit time in business days. */
export function estimateDelivery(input: DeliveryEstimateInput): string {
  const holidays = input.holidays ?? new Set<string>();
  return addBusinessDays(
    dispatchDate(input.orderedAt, input.cutoffHourUtc, holidays),
    input.transitBusinessDays,
    holidays,
  );
}
