import type { Socket } from 'socket.io';
import type { Connection } from './connection';
import type { Session } from './session';

/** What the handshake learnt about a socket, and what it is attached to once connected. */
export interface SocketState {
  userId: string;
  tokenHash: string;
  resume: { sessionId: string; seq: number } | null;
  batch: boolean;
  session: Session | null;
  conn: Connection | null;
  rate: { start: number; count: number };
  /** Gives back the connection's places under its user and address (GatewayAdmission). */
  release: () => void;
}

export function stateOf(socket: Socket): SocketState {
  return socket.data as SocketState;
}
