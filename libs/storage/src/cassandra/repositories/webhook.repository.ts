import type { WebhookPatch, WebhookRecord, WebhookRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { WEBHOOKS } from '../tables';

const COLUMNS = WEBHOOKS.columns;
const FIND = `SELECT ${COLUMNS} FROM webhooks WHERE id = ?`;
const FIND_MANY = `SELECT ${COLUMNS} FROM webhooks WHERE id IN ?`;
const IDS_OF_GUILD = 'SELECT id FROM webhooks_by_guild WHERE guild_id = ?';
const toRecord = WEBHOOKS.toRecord;

/**
 * A webhook row by id (what every execute reads: one partition) and each guild's webhook ids in one small
 * partition (webhooks_by_guild) for the managers' lists, both written in one logged batch.
 */
export class CassandraWebhookRepository implements WebhookRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(webhook: WebhookRecord): Promise<void> {
    await this.db.batch(
      [
        { query: WEBHOOKS.insert, params: WEBHOOKS.params(webhook, undefined) },
        { query: WEBHOOKS.index, params: [toId(webhook.guildId), toId(webhook.id)] },
      ],
      true,
    );
  }

  async find(id: string): Promise<WebhookRecord | null> {
    const row = (await this.db.execute('read', FIND, [toId(id)], { idempotent: true })).first();
    return row && row.get(WEBHOOKS.present) !== null ? toRecord(row) : null;
  }

  async listByGuild(guildId: string): Promise<WebhookRecord[]> {
    const ids = (await this.db.all(IDS_OF_GUILD, [toId(guildId)])).map((row) => row.get('id') as unknown);
    if (ids.length === 0) return [];
    const rows = await this.db.all(FIND_MANY, [ids]);
    return rows
      .filter((row) => row.get(WEBHOOKS.present) !== null)
      .map(toRecord)
      .filter((w) => w.guildId === guildId)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  async listByChannel(guildId: string, channelId: string): Promise<WebhookRecord[]> {
    return (await this.listByGuild(guildId)).filter((w) => w.channelId === channelId);
  }

  async update(id: string, patch: WebhookPatch): Promise<void> {
    const values: [string, unknown][] = [];
    if (patch.name !== undefined) values.push(['name', patch.name]);
    if (patch.avatar !== undefined) values.push(['avatar', patch.avatar]);
    if (patch.channelId !== undefined) values.push(['channel_id', toId(patch.channelId)]);
    if (values.length === 0) return;
    // An update racing a delete leaves a row without its token, which reads as no webhook (WEBHOOKS.present).
    await this.db.execute(
      'write',
      `UPDATE webhooks SET ${values.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`,
      [...values.map(([, v]) => v), toId(id)],
      { idempotent: true },
    );
  }

  async delete(id: string): Promise<void> {
    const found = await this.find(id);
    if (!found) return;
    await this.db.batch(
      [
        { query: WEBHOOKS.delete, params: [toId(id)] },
        { query: WEBHOOKS.unindex, params: [toId(found.guildId), toId(id)] },
      ],
      true,
    );
  }
}
