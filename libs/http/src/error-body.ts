import { randomUUID } from 'node:crypto';
import { DomainError, RateLimitedError } from '@parley/common';

export interface ErrorBody {
  code: number;
  message: string;
  errors?: Record<string, { code: string; message: string }[]>;
  retry_after?: number;
  global?: boolean;
  error_id?: string;
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
  /** Set for 5xx: the id also written to the logs. */
  errorId?: string;
}

interface FrameworkError {
  statusCode?: number;
  status?: number;
  code?: string;
  message?: string;
  getStatus?: () => number;
}

const STATUS_CODES: Record<number, { code: number; message: string }> = {
  400: { code: 50035, message: 'Invalid request' },
  401: { code: 40001, message: 'Unauthorized' },
  403: { code: 50013, message: 'Missing permissions' },
  404: { code: 0, message: '404: Not Found' },
  405: { code: 0, message: '405: Method Not Allowed' },
  413: { code: 40005, message: 'Request entity too large' },
  415: { code: 50035, message: 'Unsupported content type: send application/json' },
};

/** One mapping from anything thrown to the contract's error shape, shared by every HTTP entry. */
export function mapError(err: unknown): MappedError {
  if (err instanceof RateLimitedError) {
    const seconds = err.retryAfterMs / 1000;
    return {
      status: 429,
      body: { code: err.code, message: err.message, retry_after: seconds, global: err.global },
      headers: {
        'retry-after': String(Math.ceil(seconds)),
        'x-ratelimit-limit': String(err.limit),
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': ((Date.now() + err.retryAfterMs) / 1000).toFixed(3),
        'x-ratelimit-reset-after': seconds.toFixed(3),
        'x-ratelimit-bucket': err.bucket,
        'x-ratelimit-scope': err.global ? 'global' : 'user',
        ...(err.global ? { 'x-ratelimit-global': 'true' } : {}),
      },
    };
  }
  if (err instanceof DomainError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.errors) body.errors = err.errors;
    if (err.status >= 500) {
      const errorId = randomUUID();
      body.error_id = errorId;
      return { status: err.status, body, headers: {}, errorId };
    }
    return { status: err.status, body, headers: {} };
  }
  const fw = err as FrameworkError;
  const status = typeof fw?.getStatus === 'function' ? fw.getStatus() : (fw?.statusCode ?? fw?.status);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (
      fw.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fw.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      (status === 400 && /JSON/i.test(fw.message ?? ''))
    ) {
      return {
        status: 400,
        body: { code: 50109, message: 'The request body contains invalid JSON.' },
        headers: {},
      };
    }
    const known = STATUS_CODES[status] ?? { code: 0, message: `${status}` };
    return { status, body: { ...known }, headers: {} };
  }
  const errorId = randomUUID();
  return {
    status: 500,
    body: { code: 0, message: 'Internal server error', error_id: errorId },
    headers: {},
    errorId,
  };
}

/**
 * Discord's error shape for Discord clients: `errors` nested by path with `_errors` leaves
 * (`{"embeds": {"0": {"title": {"_errors": [...]}}}}`), which discord.js flattens into its error message.
 */
export function discordErrorBody(body: ErrorBody): Record<string, unknown> {
  if (!body.errors) return { ...body };
  const nested: Record<string, unknown> = {};
  for (const [field, errors] of Object.entries(body.errors)) {
    let node = nested;
    for (const key of field === '_body' ? [] : field.split('.')) {
      node = (node[key] ??= {}) as Record<string, unknown>;
    }
    node._errors = [...((node._errors as unknown[] | undefined) ?? []), ...errors];
  }
  return { ...body, message: body.code === 50035 ? 'Invalid Form Body' : body.message, errors: nested };
}
