import { ServiceUnavailableError } from '@parley/common';
import { lazy } from '@parley/common';
import { cassandraDriver } from './driver';

/** Server answers that mean "not enough replicas right now", not "your statement is wrong". */
const unavailableCodes = lazy(() => {
  const code = cassandraDriver().types.responseErrorCodes;
  return new Set<number>([
    code.unavailableException,
    code.overloaded,
    code.isBootstrapping,
    code.writeTimeout,
    code.readTimeout,
    code.readFailure,
    code.writeFailure,
    code.truncateError,
  ]);
});

/**
 * The database could not serve the request in time (too few replicas up for the consistency level, a
 * timeout, no host reachable). Maps to 503 with an error id; the driver's error stays in `cause` for
 * the logs, never in the response body.
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('The database is unavailable; try again shortly.');
    this.name = 'DatabaseUnavailableError';
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

export function isUnavailable(err: unknown): boolean {
  const { errors } = cassandraDriver();
  if (err instanceof errors.ResponseError) return unavailableCodes().has(err.code);
  return (
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError
  );
}

/** Availability failures become DatabaseUnavailableError; anything else (a bug) passes through. */
export function mapDriverError(err: unknown): unknown {
  if (err instanceof DatabaseUnavailableError) return err;
  if (isUnavailable(err)) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new DatabaseUnavailableError(reason, { cause: err });
  }
  return err;
}
