import type { ReadySnapshot } from '@parley/chat';
import type { ResumeEntry } from '@parley/state';
import type { ClosePayload } from './protocol';
import type { Session } from './session';

/**
 * A session's outbound side, whatever the transport (socket.io's Connection, the Discord gateway's
 * DiscordConnection): sessions, routing, resume and presence only ever talk to this.
 */
export interface SessionConnection {
  readonly isOpen: boolean;
  /** Frames waiting for the client (for slow-consumer diagnostics). */
  readonly pending: number;
  /** Most frames ever waiting at once (for tests and diagnostics). */
  readonly highWater: number;
  /** Queues a numbered dispatch (or a transport-specific prebuilt frame); false when closed or overflowing. */
  send(item: ResumeEntry | string): boolean;
  /** Queues a resume's replay ahead of anything sent after it. */
  sendBacklog(entries: readonly ResumeEntry[]): void;
  /** Says why in the transport's terms and ends the connection. */
  close(payload: ClosePayload): void;
}

/** READY as a transport sends it, and the dispatches that follow it at once (Discord: GUILD_CREATE each). */
export interface ShapedReady {
  ready: string;
  after: Array<{ t: string; d: string }>;
}

/** Who a connection is and how its transport wants READY (socket.io: Parley's READY as is). */
export interface SessionOwner {
  userId: string;
  tokenHash: string;
  batch: boolean;
  /** Prepended to the session id (the Discord gateway keeps the session's intents there, for any node). */
  sessionIdPrefix?: string;
  shapeReady?: (session: Session, snapshot: ReadySnapshot, presences: unknown[]) => ShapedReady;
}

/** What resume needs to know about the connection asking (either transport). */
export interface ResumingConnection {
  userId: string;
  tokenHash: string;
  batch: boolean;
  session: Session | null;
}
