/** Domain errors carry the HTTP status and the JSON error code of the contract; transports map them. */
export interface FieldError {
  code: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: number;
  errors?: Record<string, FieldError[]>;
}

export class ValidationError extends DomainError {
  readonly status = 400;
  readonly code = 50035;
  constructor(errors: Record<string, FieldError[]>, message = 'Invalid form body') {
    super(message);
    this.errors = errors;
  }
  static field(field: string, code: string, message: string): ValidationError {
    return new ValidationError({ [field]: [{ code, message }] });
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
  constructor(
    message: string,
    readonly code = 50035,
  ) {
    super(message);
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly code = 40001;
  constructor(message = 'Unauthorized') {
    super(message);
  }
}

/** Discord's answer to a webhook call with a wrong token: 401, code 50027. */
export class InvalidWebhookTokenError extends DomainError {
  readonly status = 401;
  readonly code = 50027;
  constructor() {
    super('Invalid Webhook Token');
  }
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  constructor(
    message = 'Missing permissions',
    readonly code = 50013,
  ) {
    super(message);
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  constructor(
    message: string,
    readonly code = 10000,
  ) {
    super(message);
  }
}

/** Discord's "Unknown X" codes, so client authors see familiar numbers. */
export const UNKNOWN = {
  channel: 10003,
  guild: 10004,
  invite: 10006,
  member: 10007,
  message: 10008,
  overwrite: 10009,
  role: 10011,
  user: 10013,
  emoji: 10014,
  ban: 10026,
  webhook: 10015,
  application: 10002,
  session: 10020,
  auto_moderation_rule: 10066,
  route: 0,
} as const;

export function unknown(kind: keyof typeof UNKNOWN): NotFoundError {
  return new NotFoundError(`Unknown ${kind}`, UNKNOWN[kind]);
}

export class ConflictError extends DomainError {
  readonly status = 409;
  constructor(
    message: string,
    readonly code = 40009,
  ) {
    super(message);
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  readonly code = 40005;
  constructor(message = 'Request entity too large') {
    super(message);
  }
}

export class RateLimitedError extends DomainError {
  readonly status = 429;
  constructor(
    readonly retryAfterMs: number,
    readonly limit: number,
    readonly bucket: string,
    readonly global = false,
    /** 20028 for request rate limits; 20016 for a channel's slowmode. */
    readonly code: number = 20028,
    message = 'You are being rate limited.',
  ) {
    super(message);
  }
}

export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  constructor(
    message = 'Service unavailable',
    readonly code = 50503,
  ) {
    super(message);
  }
}

export class ReadOnlyError extends ServiceUnavailableError {
  constructor() {
    super('This instance is in read-only maintenance mode; writes are refused until it ends.', 50504);
  }
}

/** Discord's answers for messages, uploads and invites aimed at a channel type that cannot hold them. */
export function wrongChannelType(action: 'message' | 'other'): BadRequestError {
  return action === 'message'
    ? new BadRequestError('Cannot send messages in a non-text channel', 50008)
    : new BadRequestError('Cannot execute action on this channel type', 50024);
}
