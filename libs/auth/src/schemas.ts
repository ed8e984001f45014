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
  // Discord's register field: the invite that brought the user (required with instance.registration invite_only).
  invite: z.string().min(1).max(64).nullish(),
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

// Mailed tokens are 43 base64url characters; anything far from that is refused before a lookup.
const linkToken = z.string().min(16).max(128);

export const verifyBody = z.object({ token: linkToken });

// The contract's `email`; Discord's clients send `login` (an address or a username): either is taken.
export const forgotBody = z
  .object({ email: z.string().min(1).max(254).optional(), login: z.string().min(1).max(254).optional() })
  .refine((b) => b.email !== undefined || b.login !== undefined, {
    message: 'email is required',
    path: ['email'],
  });

export const resetBody = z.object({ token: linkToken, password });

// A 6-digit TOTP code or an 8-character backup code (typed with spaces or a dash, perhaps).
const mfaCode = z.string().min(6).max(16);

export const mfaLoginBody = z.object({ ticket: linkToken, code: mfaCode });

export const mfaEnableBody = z.object({
  // Base32, at least 80 bits (16 characters, what Discord's clients generate), at most 640.
  secret: z
    .string()
    .max(160)
    .regex(/^[A-Za-z2-7\s]{16,}=*$/, 'A base32 secret of at least 16 characters'),
  code: z.string().regex(/^\d{6}$/, 'The 6-digit code from the authenticator'),
  password: z.string().min(1).max(256),
});

export const mfaDisableBody = z.object({ code: mfaCode });

// A pending single sign-on link (`#link_ticket=` of the callback) and the account's password.
export const oidcLinkBody = z.object({ ticket: linkToken, password: z.string().min(1).max(256) });
