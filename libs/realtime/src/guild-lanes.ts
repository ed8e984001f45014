import { setImmediate as nextTurn } from 'node:timers/promises';

/** One unit of routing work, processed in order with the rest of its lane. */
export interface LaneStep<E> {
  event?: E;
  run?: () => Promise<void> | void;
  /** For `run` steps: told when the step is dropped (its lane overflowed) instead of run. */
  dropped?: (err: Error) => void;
}

interface Lane<E> {
  steps: Array<LaneStep<E> | undefined>;
  head: number;
}

/** Steps processed in a row before a busy lane yields to I/O, so sockets drain between bursts. */
const YIELD_EVERY = 256;

export class LaneOverflowError extends Error {
  constructor(
    readonly key: string,
    limit: number,
  ) {
    super(`routing queue of ${key || 'direct events'} passed ${limit} steps`);
  }
}

/**
 * Ordered routing work per guild (Discord's guild processes, in one node): each lane runs its steps one after
 * the other, and a step that waits (a guild read from storage) holds only its own lane, never another guild's.
 * A step that needs no waiting runs at once, synchronously, when its lane is idle; only a lane that is waiting
 * keeps a queue, bounded by `limit` steps: past it the lane's queued steps are dropped and `overflow` decides
 * what that costs (its sessions start over).
 */
export class GuildLanes<E> {
  /** Lanes with work in progress (a waiting step, maybe more queued behind it). */
  private readonly busy = new Map<string, Lane<E>>();

  constructor(
    private readonly limit: number,
    private readonly step: (key: string, step: LaneStep<E>) => Promise<void> | void,
    private readonly overflow: (key: string, dropped: Array<LaneStep<E>>) => void,
    private readonly failed: (err: unknown) => void,
  ) {}

  push(key: string, step: LaneStep<E>): void {
    const lane = this.busy.get(key);
    if (lane) {
      if (lane.steps.length - lane.head >= this.limit) {
        const dropped = lane.steps.slice(lane.head).filter((s): s is LaneStep<E> => s !== undefined);
        lane.steps = [];
        lane.head = 0;
        const err = new LaneOverflowError(key, this.limit);
        for (const s of dropped) s.dropped?.(err);
        this.overflow(key, [...dropped, step]);
        step.dropped?.(err);
        return;
      }
      lane.steps.push(step);
      return;
    }
    const pending = this.runStep(key, step);
    if (!pending) return;
    const fresh: Lane<E> = { steps: [], head: 0 };
    this.busy.set(key, fresh);
    void this.drain(key, fresh, pending);
  }

  /** Steps waiting in every lane (the one in progress not counted). */
  get depth(): number {
    let n = 0;
    for (const lane of this.busy.values()) n += lane.steps.length - lane.head;
    return n;
  }

  /** Steps waiting in the deepest lane. */
  get maxDepth(): number {
    let n = 0;
    for (const lane of this.busy.values()) n = Math.max(n, lane.steps.length - lane.head);
    return n;
  }

  /** Lanes with work in progress. */
  get busyLanes(): number {
    return this.busy.size;
  }

  private runStep(key: string, step: LaneStep<E>): Promise<void> | void {
    try {
      const pending = this.step(key, step);
      return pending ? pending.catch((err: unknown) => this.failed(err)) : undefined;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  private async drain(key: string, lane: Lane<E>, first: Promise<void>): Promise<void> {
    try {
      await first;
      let done = 0;
      while (lane.head < lane.steps.length) {
        const step = lane.steps[lane.head];
        lane.steps[lane.head++] = undefined;
        if (step) {
          const pending = this.runStep(key, step);
          if (pending) await pending;
        }
        if (lane.head > 1024 && lane.head * 2 > lane.steps.length) {
          lane.steps = lane.steps.slice(lane.head);
          lane.head = 0;
        }
        if (++done % YIELD_EVERY === 0) await nextTurn();
      }
    } finally {
      this.busy.delete(key);
    }
  }
}
