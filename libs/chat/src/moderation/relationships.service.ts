import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type DomainEvent, EVENT_BUS, type EventBus } from '@parley/bus';
import {
  BadRequestError,
  ForbiddenError,
  type PublicUser,
  TtlCache,
  isSnowflake,
  isoTime,
  unknown,
} from '@parley/common';
import { type DmPolicy, STORAGE, type Storage } from '@parley/storage';
import { UserDirectory } from '../users.directory';

/** Discord's relationship type for a block. */
export const BLOCKED = 2;
/** Discord caps a user's relationships at 1000 (friends and blocks together). */
const MAX_RELATIONSHIPS = 1000;
const CACHE_TTL_MS = 60_000;
const CACHE_MAX = 100_000;

/** Discord's relationship object. */
export interface RelationshipDto {
  id: string;
  type: number;
  user: PublicUser;
  nickname: null;
  since: string;
}

export type DirectMessagePolicy = 'everyone' | 'mutual_guilds' | 'nobody';
const POLICY_NAMES: readonly DirectMessagePolicy[] = ['everyone', 'mutual_guilds', 'nobody'];
/** The default when a user never changed it: DMs only between users who share a guild. */
const DEFAULT_POLICY: DmPolicy = 1;

/** Discord's 50007: the recipient does not take this DM (a block, or their DM setting). */
export function cannotMessageUser(): ForbiddenError {
  return new ForbiddenError('Cannot send messages to this user', 50007);
}

/**
 * Blocks (Discord's relationships of type 2) and who may open a DM with whom. "Has the recipient blocked the
 * sender?" is asked on every DM send, so its answer is cached per process (absent blocks too) and dropped by
 * RELATIONSHIP_ADD / RELATIONSHIP_REMOVE from the invalidation stream: at most one keyed read per pair a minute.
 */
@Injectable()
export class RelationshipService implements OnModuleDestroy {
  private readonly blocks = new TtlCache<boolean>(CACHE_MAX, CACHE_TTL_MS);
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly users: UserDirectory,
  ) {
    this.unsubscribe = bus.subscribeInvalidations((event) => this.invalidate(event));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  private invalidate(event: DomainEvent): void {
    if (event.type !== 'RELATIONSHIP_ADD' && event.type !== 'RELATIONSHIP_REMOVE') return;
    const target = (event.data as { id?: string }).id;
    if (event.scope.kind === 'user' && target) this.blocks.delete(`${event.scope.id}:${target}`);
  }

  /** Whether `blockerId` has blocked `otherId` (cached; see the class comment). */
  async hasBlocked(blockerId: string, otherId: string): Promise<boolean> {
    const key = `${blockerId}:${otherId}`;
    const cached = this.blocks.get(key);
    if (cached !== undefined) return cached;
    const generation = this.blocks.generation;
    const found = await this.storage.relationships.find(blockerId, otherId);
    const blocked = found?.type === BLOCKED;
    this.blocks.set(key, blocked, generation);
    return blocked;
  }

  async list(userId: string): Promise<RelationshipDto[]> {
    const records = await this.storage.relationships.list(userId, MAX_RELATIONSHIPS);
    const users = await this.users.many(records.map((r) => r.targetId));
    return records.flatMap((r) => {
      const user = users.get(r.targetId);
      return user
        ? [{ id: r.targetId, type: r.type, user, nickname: null, since: isoTime(r.createdAt) }]
        : [];
    });
  }

  /** `PUT /users/@me/relationships/:user_id {type: 2}`: blocks (friend requests are not built: 400). */
  async put(userId: string, targetId: string, type: number | undefined): Promise<void> {
    if (type !== BLOCKED)
      throw new BadRequestError('Only blocking (type 2) is supported; friends are not built', 50035);
    if (!isSnowflake(targetId)) throw unknown('user');
    if (targetId === userId) throw new BadRequestError('You cannot block yourself', 50035);
    const user = await this.users.one(targetId);
    if (!user) throw unknown('user');
    const existing = await this.storage.relationships.list(userId, MAX_RELATIONSHIPS);
    if (existing.length >= MAX_RELATIONSHIPS && !existing.some((r) => r.targetId === targetId))
      throw new BadRequestError('Maximum number of relationships reached (1000)', 30001);
    const createdAt = Date.now();
    await this.storage.relationships.put({ userId, targetId, type: BLOCKED, createdAt });
    this.blocks.delete(`${userId}:${targetId}`);
    this.bus.publish({
      type: 'RELATIONSHIP_ADD',
      scope: { kind: 'user', id: userId },
      data: { id: targetId, type: BLOCKED, user, nickname: null, since: isoTime(createdAt) },
    });
  }

  async remove(userId: string, targetId: string): Promise<void> {
    if (!isSnowflake(targetId)) throw unknown('user');
    const existing = await this.storage.relationships.find(userId, targetId);
    if (!existing) throw unknown('user');
    await this.storage.relationships.delete(userId, targetId);
    this.blocks.delete(`${userId}:${targetId}`);
    this.bus.publish({
      type: 'RELATIONSHIP_REMOVE',
      scope: { kind: 'user', id: userId },
      data: { id: targetId, type: existing.type },
    });
  }

  async privacy(userId: string): Promise<{ direct_messages: DirectMessagePolicy }> {
    const found = await this.storage.relationships.privacy(userId);
    return { direct_messages: POLICY_NAMES[found?.dmPolicy ?? DEFAULT_POLICY] };
  }

  async setPrivacy(
    userId: string,
    policy: DirectMessagePolicy,
  ): Promise<{ direct_messages: DirectMessagePolicy }> {
    const dmPolicy = POLICY_NAMES.indexOf(policy) as DmPolicy;
    await this.storage.relationships.putPrivacy({ userId, dmPolicy, updatedAt: Date.now() });
    return { direct_messages: policy };
  }

  /**
   * May `userId` open a new DM with `recipientId`? Refused (50007) when the recipient blocked the caller, or
   * when the recipient's setting excludes them: `mutual_guilds` (the default) needs a guild both are members of,
   * `nobody` refuses every new DM. Asked when a DM is opened, not on each send (sends check blocks only).
   */
  async requireMayOpen(userId: string, recipientId: string, existing: () => Promise<boolean>): Promise<void> {
    if (await this.hasBlocked(recipientId, userId)) throw cannotMessageUser();
    const found = await this.storage.relationships.privacy(recipientId);
    const policy = found?.dmPolicy ?? DEFAULT_POLICY;
    if (policy === 0) return;
    if (policy === 1) {
      const [mine, theirs] = await Promise.all([
        this.storage.members.listGuildIds(userId),
        this.storage.members.listGuildIds(recipientId),
      ]);
      const shared = new Set(theirs);
      if (mine.some((g) => shared.has(g))) return;
    }
    // An existing conversation stays open whatever the setting says now.
    if (await existing()) return;
    throw cannotMessageUser();
  }
}
