import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type FieldError, ValidationError } from '@parley/common';
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { isDiscordRequest } from './dialect';

/**
 * Maps zod issues onto the contract's `errors: {field: [{code, message}]}`. `lenient` (Discord clients): keys
 * Parley does not know and nulls for fields it leaves unset are dropped, never refused; discord.js sends many
 * (`tts`, `components`, `flags`, `hoist`, `icon`, ...) on every create and edit.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, lenient = false): z.infer<S> {
  let input: unknown = value ?? {};
  let result = schema.safeParse(input);
  // Each pass can only remove keys, so a few passes settle nested objects.
  for (let pass = 0; lenient && !result.success && pass < 8; pass++) {
    const pruned = pruneIgnorable(input, result.error.issues);
    if (pruned === null) break;
    input = pruned;
    result = schema.safeParse(input);
  }
  if (result.success) return result.data;
  const errors: Record<string, FieldError[]> = {};
  for (const issue of result.error.issues) {
    const keys =
      issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const path of keys) {
      const field = path.map(String).join('.') || '_body';
      (errors[field] ??= []).push({ code: issueCode(issue, input), message: issue.message });
    }
  }
  throw new ValidationError(errors);
}

/** A copy of `input` without the unknown keys and null values the issues name; null when there are none. */
function pruneIgnorable(input: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(input) as Record<string, unknown>;
  let changed = false;
  const parentOf = (path: readonly PropertyKey[]): Record<string, unknown> | null => {
    let node: unknown = copy;
    for (const key of path) {
      if (node === null || typeof node !== 'object') return null;
      node = (node as Record<PropertyKey, unknown>)[key];
    }
    return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : null;
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const parent = parentOf(issue.path);
      for (const key of issue.keys) if (parent && key in parent) changed = delete parent[key];
    } else if (issue.code === 'invalid_type' && issue.path.length > 0 && valueAt(copy, issue.path) === null) {
      const parent = parentOf(issue.path.slice(0, -1));
      const key = issue.path[issue.path.length - 1] as string;
      if (parent && !Array.isArray(parent) && key in parent) changed = delete parent[key];
    }
  }
  return changed ? copy : null;
}

/** The value at an issue's path (zod leaves `issue.input` out unless asked to report inputs). */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node = input;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function issueCode(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return valueAt(input, issue.path) === undefined ? 'BASE_TYPE_REQUIRED' : 'BASE_TYPE_INVALID';
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
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  const body = request.body;
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new ValidationError({
      _body: [{ code: 'BASE_TYPE_INVALID', message: 'Body must be a JSON object' }],
    });
  }
  return parseInput(schema, body, isDiscordRequest(request));
});

const queryDecorator = createParamDecorator(({ schema }: Wrapped, ctx: ExecutionContext) => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest>();
  return parseInput(schema, request.query, isDiscordRequest(request));
});

/** `@Body` that validates with a zod schema and answers 400 in the contract's shape. */
export const ValidBody = recorded('body', bodyDecorator);
export const ValidQuery = recorded('query', queryDecorator);
