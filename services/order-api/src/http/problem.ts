import { toFieldErrors } from '@notify/contracts';
import type { FieldError } from '@notify/contracts';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '@notify/service-kit';
import { IdempotencyConflictError } from '../domain/create-order.js';
import { AmountOverflowError } from '../domain/pricing.js';
import { BodyParseError } from './json-body-parser.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types of this API (RFC 9457); plain HTTP failures use `about:blank`. */
export const PROBLEM_TYPES = {
  validation: 'urn:notify:problem:validation-failed',
  malformedJson: 'urn:notify:problem:malformed-json',
  forbiddenKey: 'urn:notify:problem:forbidden-key',
  idempotencyKeyReused: 'urn:notify:problem:idempotency-key-reused',
  storageUnavailable: 'urn:notify:problem:storage-unavailable',
  blank: 'about:blank',
} as const;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
}

/** An HTTP failure with everything a problem document needs; thrown by handlers and hooks. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly options: {
      type?: string;
      detail?: string;
      errors?: FieldError[];
      headers?: Record<string, string>;
    } = {},
  ) {
    super(options.detail ?? title);
    this.name = 'HttpProblem';
  }
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return STATUS_TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: HttpProblem) {
  const body: ProblemBody = {
    type: problem.options.type ?? PROBLEM_TYPES.blank,
    title: problem.title,
    status: problem.status,
    ...(problem.options.detail ? { detail: problem.options.detail } : {}),
    instance: `urn:uuid:${request.id}`,
    ...(problem.options.errors ? { errors: problem.options.errors } : {}),
  };
  for (const [name, value] of Object.entries(problem.options.headers ?? {})) reply.header(name, value);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

const PART_PREFIX: Record<string, string> = {
  headers: 'header:',
  params: 'path:',
  querystring: 'query:',
};

/**
 * Field names for Fastify's validation errors: body fields as JSON Pointers
 * (`/customer/email`, `body` for the document itself), other parts prefixed with
 * where they came from (`header:idempotency-key`, `path:id`).
 */
export function validationFieldErrors(err: FastifyError): FieldError[] {
  const part = (err as { validationContext?: string }).validationContext ?? 'body';
  const prefix = PART_PREFIX[part];
  return toFieldErrors(err.validation as Parameters<typeof toFieldErrors>[0]).map(({ field, message }) => {
    if (prefix) return { field: `${prefix}${field.replace(/^\//, '')}`, message };
    return { field: field === '' ? 'body' : field, message };
  });
}

/** Maps any error reaching Fastify's error handler to a problem; never leaks internals. */
export function problemFor(err: FastifyError | Error): HttpProblem {
  if (err instanceof HttpProblem) return err;
  if (err instanceof AmountOverflowError) {
    return new HttpProblem(400, 'Request validation failed', {
      type: PROBLEM_TYPES.validation,
      detail: 'the order total is larger than the system accepts',
      errors: [{ field: err.field, message: err.message }],
    });
  }
  if (err instanceof IdempotencyConflictError) {
    return new HttpProblem(422, 'Idempotency-Key reused with a different request', {
      type: PROBLEM_TYPES.idempotencyKeyReused,
      detail: 'this key was already used for another order; send a new key for a new order',
      errors: [{ field: 'header:idempotency-key', message: 'was already used with a different body' }],
    });
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    return new HttpProblem(400, 'Request validation failed', {
      type: PROBLEM_TYPES.validation,
      detail: 'one or more fields are invalid',
      errors: validationFieldErrors(fe),
    });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem(415, statusTitle(415), {
        detail: 'send the body as application/json',
        headers: { 'accept-post': 'application/json' },
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(413, statusTitle(413), { detail: 'the request body is larger than allowed' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return malformedJson();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpProblem(400, statusTitle(400), { detail: 'Content-Length does not match the body' });
  }
  if (err instanceof BodyParseError) {
    if (err.kind === 'malformed') return malformedJson();
    if (err.kind === 'unstorable-text') {
      return new HttpProblem(400, 'Request validation failed', {
        type: PROBLEM_TYPES.validation,
        detail: 'text may not contain NUL characters or unpaired UTF-16 surrogates',
        errors: [
          { field: err.field ?? 'body', message: 'contains a NUL character or an unpaired surrogate' },
        ],
      });
    }
    return new HttpProblem(400, 'Forbidden key in body', {
      type: PROBLEM_TYPES.forbiddenKey,
      detail: 'keys that could alter object prototypes are not accepted',
      errors: [{ field: err.field ?? 'body', message: 'is not allowed' }],
    });
  }
  if (isDatabaseUnavailable(err)) {
    return new HttpProblem(503, statusTitle(503), {
      type: PROBLEM_TYPES.storageUnavailable,
      detail: 'the order could not be stored right now; retry with the same Idempotency-Key',
      headers: { 'retry-after': '5' },
    });
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // Fastify's own 4xx messages describe the request, not the server.
    return new HttpProblem(status, statusTitle(status), { detail: fe.message });
  }
  return new HttpProblem(500, statusTitle(500), { detail: 'an unexpected error occurred' });
}

function malformedJson(): HttpProblem {
  return new HttpProblem(400, 'Malformed JSON', {
    type: PROBLEM_TYPES.malformedJson,
    detail: 'the request body is not valid JSON',
    errors: [{ field: 'body', message: 'is not valid JSON' }],
  });
}
