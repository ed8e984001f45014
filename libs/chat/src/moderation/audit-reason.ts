import { type ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Discord caps audit log reasons at 512 characters. */
const MAX_REASON = 512;

/**
 * The `X-Audit-Log-Reason` header: URL-encoded as Discord clients send it (discord.js encodes it), decoded
 * here; a malformed encoding is kept as sent rather than refused. Null when absent or blank.
 */
export function auditReason(header: string | string[] | undefined): string | null {
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined || raw.trim() === '') return null;
  let reason = raw;
  try {
    reason = decodeURIComponent(raw);
  } catch {
    // Not URL-encoded: the text itself.
  }
  return reason.slice(0, MAX_REASON);
}

/** The caller's audit log reason for this request (see `auditReason`). */
export const AuditReason = createParamDecorator((_: unknown, ctx: ExecutionContext): string | null =>
  auditReason(ctx.switchToHttp().getRequest<FastifyRequest>().headers['x-audit-log-reason']),
);
