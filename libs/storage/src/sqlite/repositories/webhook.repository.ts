import type { WebhookPatch, WebhookRecord, WebhookRepository } from '../../contract';
import { patchParams, patchSet, toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { WEBHOOKS, type WebhookRow } from '../tables';

const FIND = `SELECT ${WEBHOOKS.columns} FROM webhooks WHERE id = ?`;
const BY_GUILD = `SELECT ${WEBHOOKS.columns} FROM webhooks WHERE guild_id = ? ORDER BY id`;
const BY_CHANNEL = `SELECT ${WEBHOOKS.columns} FROM webhooks WHERE guild_id = ? AND channel_id = ? ORDER BY id`;
const UPDATE = `UPDATE webhooks SET ${patchSet(['name', 'avatar', 'channel_id'])} WHERE id = @id`;
const toRecord = WEBHOOKS.toRecord;

/** Webhooks in one table: by id (execute), and through (guild_id, channel_id) for the managers' lists. */
export class SqliteWebhookRepository implements WebhookRepository {
  constructor(private readonly db: SqliteDb) {}

  create(webhook: WebhookRecord): Promise<void> {
    return settle(() => {
      this.db.run(WEBHOOKS.insert, ...WEBHOOKS.params(webhook));
    });
  }

  find(id: string): Promise<WebhookRecord | null> {
    return settle(() => {
      const row = this.db.get<WebhookRow>(FIND, toId(id));
      return row ? toRecord(row) : null;
    });
  }

  listByGuild(guildId: string): Promise<WebhookRecord[]> {
    return settle(() => this.db.all<WebhookRow>(BY_GUILD, toId(guildId)).map(toRecord));
  }

  listByChannel(guildId: string, channelId: string): Promise<WebhookRecord[]> {
    return settle(() => this.db.all<WebhookRow>(BY_CHANNEL, toId(guildId), toId(channelId)).map(toRecord));
  }

  update(id: string, patch: WebhookPatch): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        id: toId(id),
        ...patchParams({
          name: patch.name,
          avatar: patch.avatar,
          channel_id: patch.channelId === undefined ? undefined : toId(patch.channelId),
        }),
      });
    });
  }

  delete(id: string): Promise<void> {
    return settle(() => {
      this.db.run(WEBHOOKS.delete, toId(id));
    });
  }
}
