import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { toSelfUser } from '@parley/auth';
import { JOB_QUEUE, type JobPayloads, type JobQueue } from '@parley/bus';
import { NotFoundError, SnowflakeGenerator, isoTime, snowflakeTime } from '@parley/common';
import { FILE_STORE, type FileStore, MediaUrlSigner } from '@parley/media';
import { STORAGE, type DataExportRecord, type MessageRecord, type Storage } from '@parley/storage';

/** A pending export younger than this is answered again instead of queuing another. */
const PENDING_WINDOW_MS = 3_600_000;
/** The largest archive written (a bound on a runaway, far above any real account). */
const MAX_ARCHIVE_BYTES = 20 * 1024 ** 3;
const PAGE = 100;

/** What `GET /users/@me/data-export` answers. */
export interface DataExportView {
  id: string;
  status: DataExportRecord['status'];
  created_at: string;
  finished_at: string | null;
  size: number | null;
  /** A signed link that expires (media.signed_url_ttl), once ready. */
  url: string | null;
}

const archiveKey = (userId: string, id: string): string => `exports/${BigInt(userId)}/${BigInt(id)}.zip`;
const downloadPath = (userId: string, id: string): string => `/api/v1/data-exports/${userId}/${id}.zip`;

/**
 * Personal data export: `POST /users/@me/data-export` queues a durable job (jobs table in the monolith, JetStream
 * in microservices) that writes a zip of NDJSON files to the file store, streamed (a page of messages in memory
 * at a time); `GET` answers its status and, once ready, a signed expiring link (the media URL signer).
 */
@Injectable()
export class DataExports {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(FILE_STORE) private readonly files: FileStore,
    private readonly signer: MediaUrlSigner,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async request(userId: string): Promise<DataExportView> {
    const current = await this.storage.dataExports.find(userId);
    if (current?.status === 'pending' && current.createdAt > Date.now() - PENDING_WINDOW_MS)
      return this.view(current);
    const record: DataExportRecord = {
      userId,
      id: this.ids.next(),
      status: 'pending',
      size: null,
      createdAt: Date.now(),
      finishedAt: null,
    };
    await this.storage.dataExports.put(record);
    await this.jobs.enqueue('account.export_data', { user_id: userId, export_id: record.id });
    return this.view(record);
  }

  async status(userId: string): Promise<DataExportView> {
    const current = await this.storage.dataExports.find(userId);
    if (!current) throw new NotFoundError('Unknown data export', 10000);
    return this.view(current);
  }

  /** The archive behind a signed link, or null when the link is bad, expired or superseded. */
  async open(userId: string, id: string, ex: unknown, hm: unknown): Promise<Readable | null> {
    if (!/^\d{1,20}$/.test(userId) || !/^\d{1,20}$/.test(id)) return null;
    if (this.signer.check(downloadPath(userId, id), ex, hm) !== 'valid') return null;
    const current = await this.storage.dataExports.find(userId);
    if (current?.id !== id || current.status !== 'ready') return null;
    return this.files.read(archiveKey(userId, id));
  }

  /** Forgets the account's export and its archive (account deletion). */
  async forget(userId: string): Promise<void> {
    await this.storage.dataExports.delete(userId);
    await this.files.deletePrefix(`exports/${BigInt(userId)}/`);
  }

  private view(record: DataExportRecord): DataExportView {
    return {
      id: record.id,
      status: record.status,
      created_at: isoTime(record.createdAt),
      finished_at: record.finishedAt === null ? null : isoTime(record.finishedAt),
      size: record.size,
      url: record.status === 'ready' ? this.signer.sign(downloadPath(record.userId, record.id)) : null,
    };
  }

  /** queue role: writes the archive. Idempotent (a retry writes it again); a superseded export is skipped. */
  async build(job: JobPayloads['account.export_data']): Promise<void> {
    const record = await this.storage.dataExports.find(job.user_id);
    if (record?.id !== job.export_id || record.status !== 'pending') return;
    const user = await this.storage.users.findById(job.user_id);
    if (!user) return;
    // The last archive goes: it was superseded when this one was asked for.
    await this.files.deletePrefix(`exports/${BigInt(user.id)}/`);
    const guildIds = await this.storage.members.listGuildIds(user.id);
    const zip = new ZipFile();
    const add = (name: string, lines: () => AsyncIterable<unknown> | Iterable<unknown>) =>
      zip.addReadStream(Readable.from(ndjson(lines())), name);
    add('profile.ndjson', () => this.profile(user.id));
    add('memberships.ndjson', () => this.memberships(user.id, guildIds));
    add('guild_settings.ndjson', () => this.guildSettings(user.id));
    add('dms.ndjson', () => this.dms(user.id));
    add('messages.ndjson', () => this.messages(user.id, messageLine));
    add('uploads.ndjson', () => this.messages(user.id, uploadLines));
    add('reactions.ndjson', () => this.reactions(user.id));
    zip.end();
    const size = await this.files.put(archiveKey(user.id, record.id), zip.outputStream as Readable, {
      maxBytes: MAX_ARCHIVE_BYTES,
      contentType: 'application/zip',
    });
    // Only if still the export asked for (a newer request replaced the row meanwhile: that one's job writes).
    const still = await this.storage.dataExports.find(user.id);
    if (still?.id !== record.id) return;
    await this.storage.dataExports.put({ ...record, status: 'ready', size, finishedAt: Date.now() });
  }

  private async *profile(userId: string): AsyncGenerator<unknown> {
    const user = await this.storage.users.findById(userId);
    if (!user) return;
    const identities = await this.storage.identities.listForUser(userId);
    yield {
      ...toSelfUser(user),
      identities: identities.map((i) => ({
        provider: i.provider,
        subject: i.subject,
        email: i.email,
        linked_at: isoTime(i.createdAt),
      })),
    };
  }

  /** Every DM channel of the user, a page at a time (newest first), so a huge list is never held whole. */
  private async *dms(userId: string): AsyncGenerator<unknown> {
    let before: string | undefined;
    for (;;) {
      const page = await this.storage.dms.listForUser(userId, { limit: PAGE, before });
      if (page.length === 0) return;
      for (const c of page) yield { id: c.id, type: 1, recipients: c.recipients };
      before = page[page.length - 1].id;
    }
  }

  private async *memberships(userId: string, guildIds: string[]): AsyncGenerator<unknown> {
    for (const guildId of guildIds) {
      const [member, guild] = await Promise.all([
        this.storage.members.find(guildId, userId),
        this.storage.guilds.findById(guildId),
      ]);
      if (!member || !guild) continue;
      yield {
        guild_id: guildId,
        guild_name: guild.name,
        nick: member.nick,
        roles: member.roles,
        joined_at: isoTime(member.joinedAt),
      };
    }
  }

  private async *guildSettings(userId: string): AsyncGenerator<unknown> {
    for (const s of await this.storage.guildSettings.list(userId)) {
      yield {
        guild_id: s.guildId,
        message_notifications: s.messageNotifications,
        muted: s.muted,
        suppress_everyone: s.suppressEveryone,
        suppress_roles: s.suppressRoles,
        channel_overrides: s.channelOverrides.map((o) => ({
          channel_id: o.channelId,
          message_notifications: o.messageNotifications,
          muted: o.muted,
        })),
      };
    }
  }

  /** The user's own reactions on the messages of the channels they are in that carry any reaction by them. */
  private async *reactions(userId: string): AsyncGenerator<unknown> {
    // Reactions are stored by message, not by user: the user's reactions on their own messages are what can be
    // found without reading whole histories (docs/accounts.md says so).
    for await (const message of this.authored(userId)) {
      const counts = await this.storage.reactions.counts(message.channelId, [message.id], userId);
      for (const c of counts) {
        if (c.me) yield { channel_id: message.channelId, message_id: message.id, emoji: c.emoji };
      }
    }
  }

  private async *messages<T>(userId: string, line: (m: MessageRecord) => T[]): AsyncGenerator<T> {
    for await (const message of this.authored(userId)) yield* line(message);
  }

  /**
   * Every message the user wrote (guilds they are in or have left, DMs), newest first, a page at a time,
   * through the author index (`messages.listByAuthor`, migration 0043).
   */
  private async *authored(userId: string): AsyncGenerator<MessageRecord> {
    let before: string | null = null;
    for (;;) {
      const page = await this.storage.messages.listByAuthor(userId, { before, since: userId, limit: PAGE });
      yield* page.messages.filter((m) => m.authorId === userId);
      if (page.cursor === null) return;
      before = page.cursor;
    }
  }
}

function messageLine(m: MessageRecord): unknown[] {
  return [
    {
      id: m.id,
      channel_id: m.channelId,
      guild_id: m.guildId,
      content: m.content,
      timestamp: isoTime(snowflakeTime(m.id)),
      edited_timestamp: m.editedAt === null ? null : isoTime(m.editedAt),
      attachments: m.attachments.map((a) => a.id),
      referenced_message_id: m.referenceId ?? null,
    },
  ];
}

function uploadLines(m: MessageRecord): unknown[] {
  return m.attachments.map((a) => ({
    id: a.id,
    message_id: m.id,
    channel_id: m.channelId,
    filename: a.filename,
    size: a.size,
    content_type: a.contentType,
  }));
}

async function* ndjson(lines: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<string> {
  for await (const line of lines) yield `${JSON.stringify(line)}\n`;
}

/** queue role: runs the export jobs (the api role only queues them). */
@Injectable()
export class DataExportJobs implements OnModuleInit {
  constructor(
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly exports: DataExports,
  ) {}

  onModuleInit(): void {
    this.jobs.register('account.export_data', (payload) => this.exports.build(payload));
  }
}
