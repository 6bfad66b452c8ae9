// Docker Compose's variable interpolation, for the forms compose.yaml uses:
// $$ (a literal $), $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message},
// ${VAR?message}, ${VAR:+replacement}, ${VAR+replacement}.

export interface Reference {
  readonly name: string;
  /** True when the reference gives a value of its own if the variable is missing. */
  readonly hasDefault: boolean;
  readonly required: boolean;
}

const PATTERN = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

export function interpolate(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(PATTERN, (_m, dollar, braced, op, arg, bare) => {
    if (dollar) return '$';
    const name = (braced ?? bare) as string;
    const value = env.get(name);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op as string | undefined) {
      case undefined:
        return value ?? '';
      case ':-':
        return nonEmpty ? (value as string) : (arg as string);
      case '-':
        return set ? (value as string) : (arg as string);
      case ':?':
        if (!nonEmpty) throw new InterpolationError(`${name}: ${arg as string}`);
        return value as string;
      case '?':
        if (!set) throw new InterpolationError(`${name}: ${arg as string}`);
        return value as string;
      case ':+':
        return nonEmpty ? (arg as string) : '';
      case '+':
        return set ? (arg as string) : '';
      default:
        throw new InterpolationError(`unsupported operator ${op as string}`);
    }
  });
}

export function references(text: string): Reference[] {
  const out: Reference[] = [];
  for (const m of text.matchAll(PATTERN)) {
    if (m[1]) continue;
    const name = (m[2] ?? m[5]) as string;
    const op = m[3];
    out.push({
      name,
      hasDefault: op === ':-' || op === '-' || op === ':+' || op === '+',
      required: op === ':?' || op === '?',
    });
  }
  return out;
}
