import { Inject, Injectable } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { type DispatchType, Permission, parsePermissions } from '@parley/common';
import { STORAGE, type Storage } from '@parley/storage';

const MEMBER_PAGE = 1000;
const AUDIT = Permission.VIEW_AUDIT_LOG | Permission.ADMINISTRATOR;

/**
 * Announces a new audit log entry (GUILD_AUDIT_LOG_ENTRY_CREATE) to the members who may read the log, on their
 * user scopes: the owner, and the holders of a role granting VIEW_AUDIT_LOG or ADMINISTRATOR. When @everyone
 * grants it the guild scope serves. Runs after the entry is written, off the request that acted; finding the
 * role holders pages through the members only when some role other than @everyone grants the permission.
 */
@Injectable()
export class AuditLogEntryPublisher {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
  ) {}

  async publish(entry: { guild_id: string }): Promise<void> {
    await this.toHolders(entry.guild_id, AUDIT, 'GUILD_AUDIT_LOG_ENTRY_CREATE', entry);
  }

  /**
   * Publishes `type` to the members holding any of `bits` guild-wide: the guild scope when @everyone grants
   * them, otherwise the owner's and each role holder's user scope (AutoMod's events go to MANAGE_GUILD holders).
   */
  async toHolders(guildId: string, bits: bigint, type: DispatchType, data: unknown): Promise<void> {
    const [guild, roles] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.roles.list(guildId),
    ]);
    if (!guild) return;
    const granting = new Set(
      roles.filter((r) => (parsePermissions(r.permissions) & bits) !== 0n).map((r) => r.id),
    );
    if (granting.has(guildId)) {
      this.bus.publish({ type, scope: { kind: 'guild', id: guildId }, data });
      return;
    }
    const readers = new Set([guild.ownerId]);
    if (granting.size > 0) {
      let after: string | undefined;
      for (;;) {
        const page = await this.storage.members.list(guildId, { limit: MEMBER_PAGE, after });
        for (const m of page) if (m.roles.some((id) => granting.has(id))) readers.add(m.userId);
        if (page.length < MEMBER_PAGE) break;
        after = page[page.length - 1].userId;
      }
    }
    for (const userId of readers) this.bus.publish({ type, scope: { kind: 'user', id: userId }, data });
  }
}
