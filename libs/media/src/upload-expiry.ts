import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type Storage } from '@parley/storage';
import { FILE_STORE, type FileStore, fileKeys } from './file-store';

const PAGE = 500;
const MAX_INTERVAL_MS = 3_600_000;
const MIN_INTERVAL_MS = 200;
/** The maintenance flag's instance_settings key (libs/platform maintenance.ts, READ_ONLY_SETTING). */
const MAINTENANCE_SETTING = 'read_only';

/**
 * Deletes uploads no message claimed within `media.unattached_upload_ttl` (file and row), periodically, in the
 * process that runs media jobs (the monolith; the queue role). A row is deleted first and only while still
 * unclaimed, atomically against a message claiming it, and its file after: so a message never ends up with a
 * missing file. (A crash between the two leaves a file nobody references; the channel's purge removes it.)
 * Several such processes may sweep at once: each upload is deleted by exactly one. Nothing is written while
 * the instance is in maintenance mode.
 */
@Injectable()
export class UnclaimedUploadSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    private readonly log: AppLogger,
  ) {}

  /** How often a sweep runs: a quarter of the expiry (so an upload outlives it by at most that), at most hourly. */
  get intervalMs(): number {
    const ttl = this.config.media.unattached_upload_ttl;
    return Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, Math.floor(ttl / 4)));
  }

  onApplicationBootstrap(): void {
    if (this.config.media.unattached_upload_ttl === 0) return;
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => 0);
  }

  /** One sweep now; resolves with how many uploads it deleted (tests, operators). */
  sweep(now = Date.now()): Promise<number> {
    this.running ??= this.sweepOnce(now).finally(() => (this.running = null));
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jittered, so replicas started together do not sweep in lockstep.
    const delay = Math.round(this.intervalMs * (0.75 + Math.random() * 0.5));
    this.timer = setTimeout(() => {
      this.sweep()
        .catch((err: unknown) => this.log.warn({ err }, 'unattached upload sweep failed; retrying later'))
        .finally(() => this.schedule());
    }, delay);
    this.timer.unref();
  }

  private async sweepOnce(now: number): Promise<number> {
    const ttl = this.config.media.unattached_upload_ttl;
    if (ttl === 0) return 0;
    const before = now - ttl;
    let cursor: string | null = null;
    let deleted = 0;
    do {
      if (this.stopped || (await this.readOnly())) break;
      const page = await this.storage.attachments.listUnclaimed(before, { limit: PAGE, cursor });
      cursor = page.cursor;
      if (page.attachments.length === 0) continue;
      const gone = new Set(await this.storage.attachments.deleteUnclaimed(page.attachments.map((a) => a.id)));
      const expired = page.attachments.filter((a) => gone.has(a.id));
      await this.files.delete(expired.map((a) => fileKeys.attachment(a.channelId, a.id)));
      deleted += expired.length;
    } while (cursor !== null);
    if (deleted > 0) this.log.info({ deleted, ttl }, 'deleted unattached uploads past their expiry');
    return deleted;
  }

  private async readOnly(): Promise<boolean> {
    if (this.config.instance.read_only) return true;
    const raw = await this.storage.instanceSettings.get(MAINTENANCE_SETTING);
    if (raw === null) return false;
    try {
      return (JSON.parse(raw) as { enabled?: unknown }).enabled === true;
    } catch {
      return true; // unreadable: do not write
    }
  }
}
