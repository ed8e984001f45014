import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppLogger } from '@parley/observability';
import { PRESENCE_STORE, type PresenceStore } from '@parley/state';
import { STORAGE, type Storage } from '@parley/storage';
import { PresenceAnnouncer } from './presence-announcer';

/** How often each gateway node looks for sessions nobody renews any more (they expire after a minute). */
const SWEEP_EVERY_MS = 15_000;

/**
 * A crashed gateway node cannot say its users went offline. Its sessions' presence entries expire because no
 * one renews them; every gateway node sweeps the expired ones now and then (each claimed by exactly one node)
 * and announces `PRESENCE_UPDATE` offline for the users who have no session left, as a clean disconnect
 * would. Only with a shared presence store (microservices): the monolith's presence dies with its process.
 */
@Injectable()
export class PresenceSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly announcer: PresenceAnnouncer,
    private readonly log: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.presence.sweep) return;
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One round; returns how many users it announced offline. */
  async sweep(): Promise<number> {
    if (this.running || !this.presence.sweep) return 0;
    this.running = true;
    try {
      const changes = await this.presence.sweep();
      for (const change of changes) {
        const guildIds = await this.storage.members.listGuildIds(change.userId);
        this.announcer.swept(change, guildIds);
      }
      if (changes.length > 0) this.log.info({ users: changes.length }, 'swept presence of a stopped gateway');
      return changes.length;
    } catch (err) {
      this.log.warn({ err }, 'presence sweep failed');
      return 0;
    } finally {
      this.running = false;
    }
  }
}
