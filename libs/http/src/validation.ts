import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type FieldError, ValidationError } from '@parley/common';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';

/** Maps zod issues onto the contract's `errors: {field: [{code, message}]}`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const errors: Record<string, FieldError[]> = {};
  for (const issue of result.error.issues) {
    const keys =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of keys) {
      const field = path.map(String).join('.') || '_body';
      (errors[field] ??= []).push({ code: issueCode(issue), message: issue.message });
    }
  }
  throw new ValidationError(errors);
}

function issueCode(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'BASE_TYPE_REQUIRED' : 'BASE_TYPE_INVALID';
    case 'too_small':
      return 'BASE_TYPE_MIN_LENGTH';
    case 'too_big':
      return 'BASE_TYPE_MAX_LENGTH';
    case 'invalid_format':
      return 'BASE_TYPE_BAD_FORMAT';
    case 'invalid_value':
      return 'BASE_TYPE_CHOICES';
    case 'unrecognized_keys':
      return 'UNKNOWN_FIELD';
    case 'custom':
    case 'invalid_element':
    case 'invalid_key':
    case 'invalid_union':
    case 'not_multiple_of':
      return 'BASE_TYPE_INVALID';
  }
}

export interface InputSchemaEntry {
  target: object;
  method: string;
  where: 'body' | 'query';
  schema: z.ZodType;
}
/** Every validated input, for the OpenAPI document. */
export const inputSchemas: InputSchemaEntry[] = [];

function recorded(where: 'body' | 'query', decorator: (data: Wrapped) => ParameterDecorator) {
  return (schema: z.ZodType): ParameterDecorator =>
    (target, method, index) => {
      if (method !== undefined)
        inputSchemas.push({ target: target.constructor, method: String(method), where, schema });
      decorator({ schema })(target, method, index);
    };
}

// The schema travels wrapped: Nest would take a bare zod schema (it has a `transform` method) for a pipe.
interface Wrapped {
  schema: z.ZodType;
}

const bodyDecorator = createParamDecorator(({ schema }: Wrapped, ctx: ExecutionContext) => {
  const body = ctx.switchToHttp().getRequest<FastifyRequest>().body;
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new ValidationError({
      _body: [{ code: 'BASE_TYPE_INVALID', message: 'Body must be a JSON object' }],
    });
  }
  return parseInput(schema, body);
});

const queryDecorator = createParamDecorator(({ schema }: Wrapped, ctx: ExecutionContext) =>
  parseInput(schema, ctx.switchToHttp().getRequest<FastifyRequest>().query),
);

/** `@Body` that validates with a zod schema and answers 400 in the contract's shape. */
export const ValidBody = recorded('body', bodyDecorator);
export const ValidQuery = recorded('query', queryDecorator);
