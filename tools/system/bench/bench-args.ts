// Command-line numbers for the bench scripts, checked once here.

/** A whole number from min to max, or the option's name and what it got in the error. */
export function wholeNumber(
  name: string,
  value: string | undefined,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return n;
}
