import type { ResumeEntry } from '@parley/state';
import type { MemberListSubscriptions } from './member-list/member-lists';

/**
 * What a node giving a session up sends the node taking it over: where its numbering stopped and the entries
 * after the client's sequence number (a page of them when `more`: ask for the rest with `page`). `gap`: the
 * buffer no longer holds everything after that number, so the session cannot resume. `delivered` (first page):
 * ids of the events the client already received (numbered up to its sequence number, the newest of them), which
 * the new node must not deliver again when they reach it late (its bus can run behind the old node's).
 * `memberLists` (first page; absent from a node of an earlier version): the session's member-list subscriptions,
 * which the new node subscribes again once it holds the session.
 */
export type SessionHandover =
  | {
      lastSeq: number;
      entries: ResumeEntry[];
      more: boolean;
      delivered?: string[];
      memberLists?: MemberListSubscriptions;
    }
  | { gap: true };

export interface SessionLocation {
  node: string;
  userId: string;
  tokenHash: string;
}

/** What this node answers its peers with (see SessionResumption). */
export interface HandoverHandlers {
  /** Give the session up (stop routing it) and send what follows `afterSeq`; null: not held here. */
  release(sessionId: string, tokenHash: string, afterSeq: number): SessionHandover | null;
  /** The next page of a session given up a moment ago. */
  page(sessionId: string, tokenHash: string, afterSeq: number): SessionHandover | null;
}

/**
 * What a gateway node needs from its peers once gateways run as several processes (microservices mode);
 * absent in the monolith. Provided by the platform over NATS (requests, bus health) and Redis (the session
 * directory: which node holds a session), so this library stays free of transports. Resume buffers stay in
 * each node's memory; they travel between nodes only in a handover.
 */
export interface GatewayCluster {
  /** This node's address for requests from its peers. */
  readonly node: string;
  /** The socket.io adapter joining the gateway nodes (Redis), so socket.io's rooms span the cluster. */
  readonly socketAdapter?: (nsp: any) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** False while this node is cut off from the event bus or Redis: it cannot promise a new session every event. */
  readonly connected: boolean;
  /** Called when this node missed events it cannot catch up on (the bus could not replay its history). */
  onEventsLost(listener: () => void): void;
  /** Where a session this node does not hold lives, if anywhere. */
  locate(sessionId: string): Promise<SessionLocation | null>;
  /** Directory writes (fire and forget, never per delivery): this node holds, dropped, took back, ended it. */
  claim(sessionId: string, owner: { userId: string; tokenHash: string }): void;
  detached(sessionId: string, lastSeq: number, ttlMs: number): void;
  attached(sessionId: string): void;
  ended(sessionId: string): void;
  /** Asks `node` to give the session up; throws when that node cannot be reached. */
  release(
    node: string,
    sessionId: string,
    tokenHash: string,
    afterSeq: number,
  ): Promise<SessionHandover | null>;
  page(node: string, sessionId: string, tokenHash: string, afterSeq: number): Promise<SessionHandover | null>;
  /** Answers other nodes' handover requests. */
  serve(handlers: HandoverHandlers): void;
}

export const GATEWAY_CLUSTER = Symbol('GATEWAY_CLUSTER');
