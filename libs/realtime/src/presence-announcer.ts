import { Inject, Injectable } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { AppLogger } from '@parley/observability';
import { PRESENCE_STORE, type PresenceChange, type PresenceStatus, type PresenceStore } from '@parley/state';
import { ReadyPresences } from './ready-presences';
import type { Session } from './session';

/**
 * Presence of gateway sessions: a session counts towards its user's presence from READY (or a resume) until it
 * ends, and every visible change is announced to guild-mates and the user's own sessions over the bus.
 */
@Injectable()
export class PresenceAnnouncer {
  // Sessions counted in the presence store: only those are taken out of it again.
  private readonly present = new WeakSet<Session>();

  constructor(
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly readyPresences: ReadyPresences,
    private readonly log: AppLogger,
  ) {}

  /** The session went live: its user is online (if they were not already), and guild-mates hear it. */
  async online(session: Session): Promise<void> {
    this.present.add(session);
    this.announce(session, await this.presence.connect(session.userId, session.id), false);
  }

  /** The session ended: its user goes offline once it was their last, announced unless `announce` is false. */
  offline(session: Session, guildIds: string[], announce: boolean): void {
    if (!this.present.has(session)) return;
    this.present.delete(session);
    const left = this.presence.disconnect(session.userId, session.id);
    if (announce) {
      left.then(
        (change) => this.announce(session, change, false, guildIds),
        (err: unknown) => this.log.warn({ err }, 'presence update failed'),
      );
    }
  }

  /** Another node holds the session now; its presence entry lives on there. */
  handedOver(session: Session): void {
    this.present.delete(session);
  }

  /** A crashed node's session was swept (PresenceSweeper): guild-mates hear that its user went offline. */
  swept(change: PresenceChange, guildIds: string[]): void {
    this.announceToGuilds(change, false, guildIds);
  }

  /** A status the user chose from one of their sessions. */
  async choose(session: Session, status: PresenceStatus): Promise<void> {
    this.announce(session, await this.presence.setStatus(session.userId, status), true);
  }

  /**
   * Guild-mates hear visible changes, except that a connect or disconnect (not `own`: not a chosen status) is
   * not announced in large guilds (gateway.presence_large_threshold); the user's own sessions hear their chosen
   * status. Every guild announcement waits for the same member-count lookup, so they go out in call order.
   */
  private announce(
    session: Session,
    change: PresenceChange,
    own: boolean,
    guildIds = [...session.guilds.keys()],
  ): void {
    this.announceToGuilds(change, own, guildIds);
    if (own) {
      this.bus.publish({
        type: 'PRESENCE_UPDATE',
        scope: { kind: 'user', id: change.userId },
        data: { user: { id: change.userId }, status: change.status },
      });
    }
  }

  private announceToGuilds(change: PresenceChange, own: boolean, guildIds: string[]): void {
    if (change.before !== change.after && guildIds.length > 0) {
      this.readyPresences.large(guildIds).then(
        (large) => {
          try {
            for (const guildId of guildIds) {
              // A large guild's members are not told; gateways holding its member list are (their own scope).
              const kind = !own && large.has(guildId) ? 'members' : 'guild';
              this.bus.publish({
                type: 'PRESENCE_UPDATE',
                scope: { kind, id: guildId },
                data: { user: { id: change.userId }, guild_id: guildId, status: change.after },
              });
            }
          } catch (err) {
            // The bus closed meanwhile (the node is shutting down): nothing left to tell.
            this.log.warn({ err }, 'presence announcement failed');
          }
        },
        (err: unknown) => this.log.warn({ err }, 'presence announcement failed'),
      );
    }
  }
}
