/** What a node that gave a session up reports: the last sequence number it numbered for it. */
export interface SessionRelease {
  lastSeq: number;
}

export interface SessionLocation {
  node: string;
  userId: string;
  tokenHash: string;
}

/**
 * What a gateway node needs from its peers once gateways run as several processes (microservices mode);
 * absent in the monolith. Provided by the platform over NATS (requests, bus health) and Redis (where a
 * session lives), so this library stays free of transports.
 */
export interface GatewayCluster {
  /** This node's address for requests from its peers. */
  readonly node: string;
  /** The socket.io adapter joining the gateway nodes (Redis), so socket.io's rooms span the cluster. */
  readonly socketAdapter?: (nsp: any) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** False while this node is cut off from the event bus: it cannot promise a new session every event. */
  readonly connected: boolean;
  /** Called when this node may have missed events (its bus connection dropped). */
  onEventsLost(listener: () => void): void;
  /** Where a session this node does not hold lives, if anywhere. */
  locate(sessionId: string): Promise<SessionLocation | null>;
  /** Asks `node` to give the session up (it stops recording it); throws when that node cannot be reached. */
  release(node: string, sessionId: string, tokenHash: string): Promise<SessionRelease | null>;
  /** Answers other nodes' release requests with `handler` (null: not held here). */
  serve(handler: (sessionId: string, tokenHash: string) => SessionRelease | null): void;
}

export const GATEWAY_CLUSTER = Symbol('GATEWAY_CLUSTER');
