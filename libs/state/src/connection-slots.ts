/**
 * Capped places held by live connections: a user's gateway sessions, an address's connections. A place is
 * claimed at the handshake and released when the connection ends; memory in the monolith, Redis once gateways
 * split, so a cap holds across every gateway node.
 */
export interface ConnectionSlots {
  /** Takes a place under `key` for `holder` unless `limit` are taken already; true when it was taken. */
  claim(key: string, holder: string, limit: number): boolean | Promise<boolean>;
  /** Gives the place back (nothing when `holder` has none). */
  release(key: string, holder: string): void;
}

export const CONNECTION_SLOTS = Symbol('CONNECTION_SLOTS');

export class MemoryConnectionSlots implements ConnectionSlots {
  private readonly keys = new Map<string, Set<string>>();

  claim(key: string, holder: string, limit: number): boolean {
    let holders = this.keys.get(key);
    if (holders?.has(holder)) return true;
    if (holders && holders.size >= limit) return false;
    if (!holders) this.keys.set(key, (holders = new Set()));
    holders.add(holder);
    return true;
  }

  release(key: string, holder: string): void {
    const holders = this.keys.get(key);
    if (!holders?.delete(holder)) return;
    if (holders.size === 0) this.keys.delete(key);
  }

  /** Keys with a place taken (for tests: nothing is kept once every connection ended). */
  get size(): number {
    return this.keys.size;
  }
}
