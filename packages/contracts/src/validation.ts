import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Static, TSchema } from 'typebox';
import type { Contract } from './registry.js';

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
type FormatsPlugin = (ajv: Ajv, formats: string[]) => Ajv;
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

export interface FieldError {
  /** JSON Pointer of the offending field, e.g. `/customer/email` (`` for the root). */
  readonly field: string;
  readonly message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export class ContractValidationError extends Error {
  constructor(
    readonly contractType: string,
    readonly errors: readonly FieldError[],
  ) {
    super(
      `${contractType} is invalid: ${errors.map((e) => `${e.field || '(root)'} ${e.message}`).join('; ')}`,
    );
    this.name = 'ContractValidationError';
  }
}

/** An Ajv instance configured the way every contract is checked: strict, no coercion, all errors. */
export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
  });
  addFormats(ajv, ['email', 'uuid', 'date-time', 'date', 'ipv4', 'ipv6', 'uri']);
  return ajv;
}

const ajv = createAjv();
const compiled = new WeakMap<TSchema, ValidateFunction>();

function compile(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/** Turns Ajv's errors into one entry per field, naming the field in every case. */
export function toFieldErrors(errors: readonly ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const err of errors ?? []) {
    let field = err.instancePath;
    let message = err.message ?? 'is invalid';
    if (err.keyword === 'required') {
      field = `${field}/${(err.params as { missingProperty: string }).missingProperty}`;
      message = 'is required';
    } else if (err.keyword === 'additionalProperties') {
      field = `${field}/${(err.params as { additionalProperty: string }).additionalProperty}`;
      message = 'is not allowed';
    } else if (err.keyword === 'enum') {
      message = 'must be one of the allowed values';
    } else if (err.keyword === 'format') {
      message = `must be a valid ${(err.params as { format: string }).format}`;
    } else if (err.keyword === 'anyOf' || err.keyword === 'oneOf') {
      message = 'does not match any allowed form';
    }
    const key = `${field}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ field, message });
    }
  }
  return out;
}

export function validateSchema<S extends TSchema>(schema: S, data: unknown): ValidationResult<Static<S>> {
  const fn = compile(schema);
  if (fn(data)) return { ok: true, value: data as Static<S> };
  return { ok: false, errors: toFieldErrors(fn.errors) };
}

export function validate<S extends TSchema>(
  contract: Contract<S>,
  data: unknown,
): ValidationResult<Static<S>> {
  return validateSchema(contract.schema, data);
}

/** Like validate, but throws ContractValidationError. */
export function assertValid<S extends TSchema>(contract: Contract<S>, data: unknown): Static<S> {
  const result = validate(contract, data);
  if (!result.ok) throw new ContractValidationError(contract.type, result.errors);
  return result.value;
}
