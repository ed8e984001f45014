/** What the moderation services take from the instance's configuration (provided by the platform). */
export interface ModerationSettings {
  /** How long an audit log entry is kept (moderation.audit_log_retention_days). */
  auditLogRetentionMs: number;
}

export const MODERATION_SETTINGS = Symbol('MODERATION_SETTINGS');

/** Discord keeps audit log entries 45 days; the default when nothing is provided (tests of this library). */
export const DEFAULT_MODERATION_SETTINGS: ModerationSettings = { auditLogRetentionMs: 45 * 86_400_000 };

/**
 * Slowmode's per user and channel clock, shared by every api process of the instance (memory in the monolith,
 * Redis in microservices; provided by the platform over its rate limiter).
 */
export interface SlowmodeGate {
  /** Counts a send by `userId` in `channelId` and answers 0, or the milliseconds left before the next may go. */
  take(channelId: string, userId: string, seconds: number): Promise<number>;
}

export const SLOWMODE_GATE = Symbol('SLOWMODE_GATE');
