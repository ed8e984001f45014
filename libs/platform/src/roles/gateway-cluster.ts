import type { NatsEventBus, NatsLink, NatsRpc } from '@parley/bus';
import type { RedisPresenceStore, RedisResumeStore } from '@parley/state';
import type { GatewayCluster, SessionLocation, SessionRelease } from '@parley/realtime';
import type * as RedisAdapter from '@socket.io/redis-adapter';
import { z } from 'zod';
import type { RedisLink } from './redis-link';

const releaseRequest = z.strictObject({
  session_id: z.string().min(1).max(64),
  token_hash: z.string().min(1).max(128),
});
const releaseReply = z.object({ last_seq: z.number().int().nonnegative() }).nullable();

/**
 * Gateway nodes over NATS and Redis: where a session lives (its resume buffer's hash in Redis), asking its
 * node to give it up (NATS request to that node's own subject: exactly one node can answer, so no queue
 * group; a breaker per node fails fast once a node is gone), bus health, and the socket.io Redis adapter.
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
    private readonly resume: RedisResumeStore,
    private readonly presence: RedisPresenceStore,
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
    return this.resume.node;
  }

  get connected(): boolean {
    return this.nats.connected && this.redis.connected;
  }

  onEventsLost(listener: () => void): void {
    this.nats.onChange((up) => {
      if (!up) listener();
    });
    this.bus.onLoss(listener);
  }

  async locate(sessionId: string): Promise<SessionLocation | null> {
    const where = await this.resume.locate(sessionId);
    return where && { node: where.node, userId: where.userId, tokenHash: where.tokenHash };
  }

  async release(node: string, sessionId: string, tokenHash: string): Promise<SessionRelease | null> {
    const reply = releaseReply.parse(
      await this.rpc.call(this.method(node), { session_id: sessionId, token_hash: tokenHash }),
    );
    return reply && { lastSeq: reply.last_seq };
  }

  serve(handler: (sessionId: string, tokenHash: string) => SessionRelease | null): void {
    this.rpc.serve(this.method(this.node), releaseRequest, async (req) => {
      const released = handler(req.session_id, req.token_hash);
      if (!released) return null;
      this.presence.forget(req.session_id);
      // Everything this node recorded for the session is in Redis before the other node reads it.
      await this.resume.flush();
      return { last_seq: released.lastSeq };
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }

  private method(node: string): string {
    return `gateway.${node}.session_release`;
  }
}
