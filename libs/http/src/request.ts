import type { FastifyRequest } from 'fastify';

export interface AuthContext {
  userId: string;
  tokenHash: string;
  /** With `auth.email_verification: required`, the caller has not verified their address yet. */
  unverified?: true;
}

/** The request as guards leave it: `auth` is set once the bearer token is verified. */
export type ParleyRequest = FastifyRequest & { auth?: AuthContext };
