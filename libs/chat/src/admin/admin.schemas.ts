import { snowflake } from '@parley/http';
import { z } from 'zod';

const intFromQuery = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,6}$/, 'Must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);

/** A listing cursor: the last id of the previous page (opaque to clients; ids on every backend). */
const cursor = snowflake.optional();

export const adminSearchQuery = z.object({
  query: z.string().max(320).optional().default(''),
  before: cursor,
  limit: intFromQuery(1, 100, 50),
});

export const adminPageQuery = z.object({ before: cursor, limit: intFromQuery(1, 100, 50) });

export const adminUserPatchBody = z.strictObject({ disabled: z.boolean() });
