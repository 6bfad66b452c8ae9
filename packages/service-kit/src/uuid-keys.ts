/**
 * Rows by their uuid, found under each spelling the caller asked with: PostgreSQL answers
 * a uuid in lower case, and a message may carry it in upper case.
 */
export function byUuid<T>(
  rows: readonly T[],
  idOf: (row: T) => string,
  asAsked: readonly string[],
): Map<string, T> {
  const map = new Map(rows.map((r) => [idOf(r).toLowerCase(), r]));
  for (const id of asAsked) {
    const row = map.get(id.toLowerCase());
    if (row) map.set(id, row);
  }
  return map;
}
