// The one poller and the one timeout of the tests and the benchmarks (bench/ imports this file too, through
// Node's type stripping: erasable TypeScript only, and nothing but node: imports).

/** What a truthy result of a condition can be. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `condition` until it gives a truthy value, which it returns; fails after `deadlineMs` with `what` and the
 * last error the condition threw (a throwing condition counts as not yet). Never asserts how long it took.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  what: string,
  deadlineMs = 20_000,
  intervalMs = 50,
): Promise<Truthy<T>> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what}${last === undefined ? '' : `: ${reason(last)}`}`);
    await pause(intervalMs);
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : JSON.stringify(err);
}

/** Like waitFor, for a check that throws (an expect) until it passes: rethrows its last failure at the deadline. */
export async function waitUntilPasses(check: () => void | Promise<void>, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await pause(50);
    }
  }
}

/** `promise`, or a rejection naming `what` once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/**
 * A pause that synchronises nothing: between polls, or where the point is that time passes (a flag read once a
 * second, a window that must stay quiet). Anything waiting *for* something uses waitFor or an event.
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
