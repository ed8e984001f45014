import type { DispatchType } from '@parley/common';
import type { TraceContext } from '@parley/observability';

/**
 * Who may see an event. A gateway session subscribes to the scopes its user can see:
 * `guild:<id>` while a member, `channel:<id>` while it may VIEW_CHANNEL (or is a DM recipient),
 * `user:<id>` for itself.
 */
export type EventScope =
  | { kind: 'guild'; id: string }
  | { kind: 'channel'; id: string; guildId: string | null }
  | { kind: 'user'; id: string }
  /** A guild's member-list presence (large guilds): only gateway nodes holding the guild's member list. */
  | { kind: 'members'; id: string };

export function scopeKey(scope: EventScope): string {
  return `${scope.kind}:${scope.id}`;
}

/**
 * What changed, for routers that must update interest (who watches what) before delivering.
 * Gateways recompute a session's channel visibility when `affects` names its guild or user.
 */
export interface RoutingHint {
  /** Visibility in this guild may have changed for everyone (role or overwrite change, channel created). */
  guildId?: string;
  /** Visibility may have changed for this user only (member roles changed, joined, left, kicked, banned). */
  userId?: string;
  /** The user has lost the guild entirely (leave, kick, ban, guild deleted). */
  removedFromGuild?: boolean;
  /**
   * GUILD_CREATE for a member who joined: the member's roles (without @everyone). Gateways take the membership
   * from the event itself rather than from storage, which in another region may not have it yet.
   */
  memberRoles?: string[];
}

/**
 * Events for other processes, never sent to clients as they are (both in the user's scope):
 * `TOKEN_REVOKED` `{token_hash}`: one token stopped working (logout);
 * `USER_SESSIONS_REVOKED` `{user_id, except_token_hash?}`: every token of the user but one did (a password change,
 * "log out everywhere"), announced once however many tokens that was;
 * `AUTO_MODERATION_RULES_CHANGED` `{guild_id}` (the guild's scope): a guild's AutoMod rules changed, so every
 * process drops its compiled copy (the rules themselves go to MANAGE_GUILD holders only, on their user scopes).
 */
export type InternalEventType = 'TOKEN_REVOKED' | 'USER_SESSIONS_REVOKED' | 'AUTO_MODERATION_RULES_CHANGED';

export interface DomainEvent<T = unknown> {
  type: DispatchType | InternalEventType;
  scope: EventScope;
  data: T;
  routing?: RoutingHint;
  /**
   * Unique per event, set by transports that cross processes (NATS): lets a gateway node that takes over a
   * session from another node recognise events both nodes received.
   */
  id?: string;
  /**
   * With tracing on, the trace this event belongs to (its publish or receive span): whoever handles it later
   * (the gateway's routing pipeline) continues that trace. Crosses NATS as a `traceparent` header.
   */
  trace?: TraceContext;
}

export type EventHandler = (event: DomainEvent) => void;
export type Unsubscribe = () => void;

export interface SubscribeOptions {
  /**
   * The subscriber just gained this scope (a routing change): also deliver what was published on it since this
   * time (ms since the epoch). A transport whose subscriptions take effect asynchronously (NATS) would otherwise
   * miss what was published while the subscription was on its way; an in-process one has nothing to catch up.
   */
  since?: number;
}

/** Publishes domain events; in the monolith in-process, in microservices over NATS subjects by scope. */
export interface EventBus {
  publish(event: DomainEvent): void;
  /** Receives events of one scope key (see `scopeKey`). */
  subscribe(key: string, handler: EventHandler, options?: SubscribeOptions): Unsubscribe;
  /** Resolves once every subscription made so far receives events (NATS: the server has registered them). */
  ready?(): Promise<void>;
  /**
   * Receives the lean copy (see `invalidationOf`) of every event of the deployment that changes what a process
   * caches (`INVALIDATING_EVENTS`), whatever its scope: how permission and token caches hear of changes without
   * receiving the whole event stream.
   */
  subscribeInvalidations(handler: EventHandler): Unsubscribe;
}

/**
 * Event types that change a cached permission input (guild with its roles, member, channel) or a cached token.
 * Besides its scope, each is published on the invalidation stream as its lean copy.
 */
export const INVALIDATING_EVENTS: ReadonlySet<DomainEvent['type']> = new Set<DomainEvent['type']>([
  'GUILD_UPDATE',
  'GUILD_DELETE',
  'GUILD_ROLE_CREATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'GUILD_MEMBER_ADD',
  'GUILD_MEMBER_UPDATE',
  'GUILD_MEMBER_REMOVE',
  'GUILD_BAN_ADD',
  'CHANNEL_CREATE',
  'CHANNEL_UPDATE',
  'CHANNEL_DELETE',
  'TOKEN_REVOKED',
  'USER_SESSIONS_REVOKED',
  'AUTO_MODERATION_RULES_CHANGED',
  'RELATIONSHIP_ADD',
  'RELATIONSHIP_REMOVE',
  // A user's row as cached for message authors (storage hot reads).
  'USER_UPDATE',
]);

/** The ids caches key on; nothing else of an event's data travels on the invalidation stream. */
export interface InvalidationData {
  id?: string;
  guild_id?: string;
  user?: { id: string };
  user_id?: string;
  token_hash?: string;
  except_token_hash?: string;
}

const LEAN_FIELDS = ['id', 'guild_id', 'user_id', 'token_hash', 'except_token_hash'] as const;

/** The lean copy of a cache-invalidating event (its type, scope and `InvalidationData`), or null for others. */
export function invalidationOf(event: DomainEvent): DomainEvent<InvalidationData> | null {
  if (!INVALIDATING_EVENTS.has(event.type)) return null;
  const data = (event.data ?? {}) as Record<string, unknown>;
  const lean: InvalidationData = {};
  for (const field of LEAN_FIELDS) if (typeof data[field] === 'string') lean[field] = data[field];
  const userId = (data.user as { id?: unknown } | undefined)?.id;
  if (typeof userId === 'string') lean.user = { id: userId };
  return { type: event.type, scope: event.scope, data: lean, ...(event.id ? { id: event.id } : {}) };
}

export const EVENT_BUS = Symbol('EVENT_BUS');
