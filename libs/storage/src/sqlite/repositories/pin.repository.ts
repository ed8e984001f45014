import type { PinRecord, PinRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { PINS, type PinRow } from '../tables';

const LIST = `SELECT ${PINS.columns} FROM channel_pins WHERE channel_id = ? ORDER BY pinned_at DESC, message_id DESC`;
const DELETE_CHANNEL = 'DELETE FROM channel_pins WHERE channel_id = ?';

export class SqlitePinRepository implements PinRepository {
  constructor(private readonly db: SqliteDb) {}

  add(pin: PinRecord): Promise<void> {
    return settle(() => void this.db.run(PINS.upsert, ...PINS.params(pin)));
  }

  remove(channelId: string, messageId: string): Promise<void> {
    return settle(() => void this.db.run(PINS.delete, toId(channelId), toId(messageId)));
  }

  list(channelId: string): Promise<PinRecord[]> {
    return settle(() => this.db.all<PinRow>(LIST, toId(channelId)).map(PINS.toRecord));
  }

  deleteChannel(channelId: string): Promise<void> {
    return settle(() => void this.db.run(DELETE_CHANNEL, toId(channelId)));
  }
}
