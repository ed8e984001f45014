/** What a user chooses; `invisible` looks `offline` to everyone else. */
export const PRESENCE_STATUSES = ['online', 'idle', 'dnd', 'invisible'] as const;
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];
/** What other users see. */
export type VisibleStatus = 'online' | 'idle' | 'dnd' | 'offline';

export interface PresenceChange {
  userId: string;
  /** The user's own status (what their other sessions show); `offline` once the last session ended. */
  status: PresenceStatus | 'offline';
  before: VisibleStatus;
  after: VisibleStatus;
}

/**
 * Who is online: a user is present while at least one gateway session of theirs exists, with the status they
 * last chose (any session may set it; it applies to the user). Memory in the monolith; Redis once gateways split.
 */
export interface PresenceStore {
  connect(userId: string, sessionId: string): Promise<PresenceChange>;
  disconnect(userId: string, sessionId: string): Promise<PresenceChange>;
  setStatus(userId: string, status: PresenceStatus): Promise<PresenceChange>;
  visible(userIds: readonly string[]): Promise<Map<string, VisibleStatus>>;
  /** Which of these users have at least one live gateway session (invisible ones included). */
  connected(userIds: readonly string[]): Promise<Set<string>>;
  /**
   * Shared stores only: ends the sessions of nodes that stopped renewing them (crashed) and returns the changes
   * of users who went offline, for the caller to announce. Each expired session is swept by one node only.
   */
  sweep?(limit?: number): Promise<PresenceChange[]>;
}

export const PRESENCE_STORE = Symbol('PRESENCE_STORE');

export function visibleStatus(status: PresenceStatus | 'offline'): VisibleStatus {
  return status === 'invisible' ? 'offline' : status;
}

interface Entry {
  status: PresenceStatus;
  sessions: Set<string>;
}

export class MemoryPresenceStore implements PresenceStore {
  private readonly users = new Map<string, Entry>();

  connect(userId: string, sessionId: string): Promise<PresenceChange> {
    const before = this.current(userId);
    let entry = this.users.get(userId);
    if (!entry) this.users.set(userId, (entry = { status: 'online', sessions: new Set() }));
    entry.sessions.add(sessionId);
    return Promise.resolve(this.change(userId, before));
  }

  disconnect(userId: string, sessionId: string): Promise<PresenceChange> {
    const before = this.current(userId);
    const entry = this.users.get(userId);
    if (entry) {
      entry.sessions.delete(sessionId);
      if (entry.sessions.size === 0) this.users.delete(userId);
    }
    return Promise.resolve(this.change(userId, before));
  }

  setStatus(userId: string, status: PresenceStatus): Promise<PresenceChange> {
    const before = this.current(userId);
    const entry = this.users.get(userId);
    // Without a session there is nothing to show: the status is chosen again on the next connection.
    if (entry) entry.status = status;
    return Promise.resolve(this.change(userId, before));
  }

  visible(userIds: readonly string[]): Promise<Map<string, VisibleStatus>> {
    return Promise.resolve(new Map(userIds.map((id) => [id, visibleStatus(this.current(id))])));
  }

  connected(userIds: readonly string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(userIds.filter((id) => this.users.has(id))));
  }

  get size(): number {
    return this.users.size;
  }

  private current(userId: string): PresenceStatus | 'offline' {
    return this.users.get(userId)?.status ?? 'offline';
  }

  private change(userId: string, before: PresenceStatus | 'offline'): PresenceChange {
    const status = this.current(userId);
    return { userId, status, before: visibleStatus(before), after: visibleStatus(status) };
  }
}
