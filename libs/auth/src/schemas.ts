import { visibleName } from '@parley/http';
import { z } from 'zod';

export const username = z
  .string()
  .min(2)
  .max(32)
  .regex(/^[A-Za-z0-9_.]+$/, 'Only letters a-z, digits, "_" and "." are allowed');
export const password = z.string().min(8).max(256);

export const registerBody = z.object({
  username,
  email: z.email().max(254),
  password,
});

export const loginBody = z.object({
  login: z.string().min(1).max(254),
  password: z.string().min(1).max(256),
});

export const patchMeBody = z.strictObject({
  username: username.optional(),
  display_name: visibleName(1, 32).nullable().optional(),
  password: password.optional(),
  current_password: z.string().max(256).optional(),
});
