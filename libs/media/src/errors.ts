import { DomainError } from '@parley/common';

/** Media answers that have no domain error of their own (415, 416, 502, 504). */
export class MediaError extends DomainError {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 0,
  ) {
    super(message);
  }
}
