import type { NatsEventBus, NatsLink, NatsRpc } from '@parley/bus';
import type { AppLogger } from '@parley/observability';
import type { RedisPresenceStore, RedisSessionDirectory } from '@parley/state';
import type { GatewayCluster, HandoverHandlers, SessionHandover, SessionLocation } from '@parley/realtime';
import type * as RedisAdapter from '@socket.io/redis-adapter';
import { z } from 'zod';
import type { RedisLink } from './redis-link';

const handoverRequest = z.strictObject({
  session_id: z.string().min(1).max(64),
  token_hash: z.string().min(1).max(128),
  after: z.number().int().nonnegative(),
});
const entry = z.object({
  s: z.number().int().positive(),
  t: z.string().min(1).max(64),
  d: z.string(),
  e: z.string().max(128).optional(),
});
const snowflake = z.string().regex(/^\d{1,20}$/);
/** A session's member-list subscriptions: guild id -> channel id -> ranges (member-lists.ts checks them again). */
const memberListsWire = z
  .record(snowflake, z.record(snowflake, z.array(z.tuple([z.number(), z.number()])).max(5)))
  .refine((guilds) => Object.keys(guilds).length <= 1000, { message: 'too many guilds' });
const handoverReply = z
  .union([
    z.object({
      last_seq: z.number().int().nonnegative(),
      entries: z.array(entry),
      more: z.boolean(),
      // Absent from a node of an earlier version.
      delivered: z.array(z.string().max(200)).max(10_000).optional(),
      // Absent from a node of an earlier version: the client's lists then start again when it subscribes.
      member_lists: memberListsWire.optional(),
    }),
    z.object({ gap: z.literal(true) }),
  ])
  .nullable();

/**
 * How long a handover request may wait for its answer. Answering is cheap for the old node, but during a drain
 * both nodes are at their busiest, and a handover that times out costs the client everything (INVALID_SESSION,
 * a full READY, the events meanwhile), so it waits longer than an ordinary request (`nats.request_timeout`);
 * a node that is gone answers at once (no responders).
 */
const HANDOVER_TIMEOUT_MS = 10_000;

/**
 * Gateway nodes over NATS and Redis: where a session lives (the session directory in Redis), asking its node
 * to give it up and send its missed events (NATS request to that node's own subject: exactly one node can
 * answer, so no queue group; a breaker per node fails fast once a node is gone), bus health, and the
 * socket.io Redis adapter.
 */
export class NatsGatewayCluster implements GatewayCluster {
  readonly socketAdapter: GatewayCluster['socketAdapter'];
  private readonly pub;
  private readonly sub;

  constructor(
    private readonly nats: NatsLink,
    private readonly bus: NatsEventBus,
    private readonly redis: RedisLink,
    private readonly rpc: NatsRpc,
    private readonly directory: RedisSessionDirectory,
    private readonly presence: RedisPresenceStore,
    private readonly log: AppLogger,
  ) {
    this.pub = redis.duplicate();
    this.sub = redis.duplicate();
    // The classic adapter: one Redis (or Sentinel) here, where sharded pub/sub brings nothing; it also keeps
    // fetchSockets/serverSideEmit, which the sharded adapter does not support.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createAdapter } = require('@socket.io/redis-adapter') as typeof RedisAdapter;
    this.socketAdapter = createAdapter(this.pub, this.sub, {
      key: `${redis.config.redis.key_prefix}socket.io`,
    });
  }

  get node(): string {
    return this.directory.node;
  }

  get connected(): boolean {
    return this.nats.connected && this.redis.connected;
  }

  /** Only a failed catch-up loses events: a reconnect alone is caught up from the event history. */
  onEventsLost(listener: () => void): void {
    this.bus.onLoss(listener);
  }

  async locate(sessionId: string): Promise<SessionLocation | null> {
    const where = await this.directory.locate(sessionId);
    return where && { node: where.node, userId: where.userId, tokenHash: where.tokenHash };
  }

  claim(sessionId: string, owner: { userId: string; tokenHash: string }): void {
    this.directory.claim(sessionId, owner).catch(this.failed('claim'));
  }

  detached(sessionId: string, lastSeq: number, ttlMs: number): void {
    this.directory.detach(sessionId, lastSeq, ttlMs).catch(this.failed('detach'));
  }

  attached(sessionId: string): void {
    this.directory.attach(sessionId).catch(this.failed('attach'));
  }

  ended(sessionId: string): void {
    this.directory.drop(sessionId).catch(this.failed('drop'));
  }

  release(
    node: string,
    sessionId: string,
    tokenHash: string,
    after: number,
  ): Promise<SessionHandover | null> {
    return this.ask(`gateway.${node}.session_release`, sessionId, tokenHash, after);
  }

  page(node: string, sessionId: string, tokenHash: string, after: number): Promise<SessionHandover | null> {
    return this.ask(`gateway.${node}.session_page`, sessionId, tokenHash, after);
  }

  serve(handlers: HandoverHandlers): void {
    this.rpc.serve(`gateway.${this.node}.session_release`, handoverRequest, (req) => {
      const handover = handlers.release(req.session_id, req.token_hash, req.after);
      if (handover) {
        this.presence.forget(req.session_id);
        this.directory.forget(req.session_id);
      }
      return Promise.resolve(wire(handover));
    });
    this.rpc.serve(`gateway.${this.node}.session_page`, handoverRequest, (req) =>
      Promise.resolve(wire(handlers.page(req.session_id, req.token_hash, req.after))),
    );
  }

  async close(): Promise<void> {
    this.directory.close();
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }

  private async ask(
    method: string,
    sessionId: string,
    tokenHash: string,
    after: number,
  ): Promise<SessionHandover | null> {
    const reply = handoverReply.parse(
      await this.rpc.call(
        method,
        { session_id: sessionId, token_hash: tokenHash, after },
        Math.max(this.rpc.timeoutMs, HANDOVER_TIMEOUT_MS),
      ),
    );
    if (!reply || 'gap' in reply) return reply && { gap: true };
    return {
      lastSeq: reply.last_seq,
      entries: reply.entries,
      more: reply.more,
      delivered: reply.delivered,
      memberLists: reply.member_lists,
    };
  }

  private failed(what: string): (err: unknown) => void {
    return (err) => this.log.warn({ err, what }, 'gateway session directory write failed');
  }
}

function wire(handover: SessionHandover | null) {
  if (!handover || 'gap' in handover) return handover;
  return {
    last_seq: handover.lastSeq,
    entries: handover.entries,
    more: handover.more,
    ...(handover.delivered ? { delivered: handover.delivered } : {}),
    ...(handover.memberLists ? { member_lists: handover.memberLists } : {}),
  };
}
