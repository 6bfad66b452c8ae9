export type FormParams = Record<string, string | string[]>;

/**
 * Parses application/x-www-form-urlencoded the way Twilio reads it: a name given more than
 * once (MediaUrl, PersistentAction) becomes a list, everything else stays a single string.
 */
export function parseFormBody(body: string): FormParams {
  const params: FormParams = {};
  for (const [name, value] of new URLSearchParams(body)) {
    const previous = params[name];
    if (previous === undefined) params[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else params[name] = [previous, value];
  }
  return params;
}

/** The single value of a parameter; for a repeated one, the last, as most form readers do. */
export function singleParam(params: FormParams, name: string): string | undefined {
  const value = params[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

export function listParam(params: FormParams, name: string): string[] {
  const value = params[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? [...value] : [value];
}
