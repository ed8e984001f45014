import type { PinRecord, PinRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { PINS } from '../tables';

/** A channel's pins: one partition of at most a few dozen rows, read whole and ordered by pin time here. */
export class CassandraPinRepository implements PinRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(pin: PinRecord): Promise<void> {
    await this.db.execute('write', PINS.insert, PINS.params(pin), { idempotent: true });
  }

  async remove(channelId: string, messageId: string): Promise<void> {
    await this.db.execute('write', PINS.delete, [toId(channelId), toId(messageId)], { idempotent: true });
  }

  async list(channelId: string): Promise<PinRecord[]> {
    const rows = await this.db.all(PINS.list, [toId(channelId)]);
    return rows
      .map(PINS.toRecord)
      .sort((a, b) => b.pinnedAt - a.pinnedAt || (BigInt(b.messageId) > BigInt(a.messageId) ? 1 : -1));
  }

  async deleteChannel(channelId: string): Promise<void> {
    await this.db.execute('write', PINS.deleteChannel, [toId(channelId)], { idempotent: true });
  }
}
