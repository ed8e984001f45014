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
  | { kind: 'user'; id: string };

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
}

/**
 * Events for other processes, never sent to clients as they are (both in the user's scope):
 * `TOKEN_REVOKED` `{token_hash}`: one token stopped working (logout);
 * `USER_SESSIONS_REVOKED` `{user_id, except_token_hash?}`: every token of the user but one did (a password change,
 * "log out everywhere"), announced once however many tokens that was.
 */
export type InternalEventType = 'TOKEN_REVOKED' | 'USER_SESSIONS_REVOKED';

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
  /** Receives every event (routing updates, metrics); use sparingly. */
  subscribeAll(handler: EventHandler): Unsubscribe;
}

export const EVENT_BUS = Symbol('EVENT_BUS');
