import { DISCORD_EPOCH, PARLEY_EPOCH, setSnowflakeEpoch } from '@parley/common';
import type { BulkStorage, SettingsRepository } from '../contract';

/** The instance setting holding the epoch (epoch ms, decimal) the instance's ids count from. */
export const SNOWFLAKE_EPOCH_SETTING = 'snowflake_epoch';

/** A recorded epoch, or null when the value is not one (refused rather than guessed). */
export function parseEpoch(value: string): number | null {
  if (!/^[0-9]{1,15}$/.test(value)) return null;
  const ms = Number(value);
  return ms <= Date.now() ? ms : null;
}

/**
 * The epoch of a database that has not recorded one: Parley's first epoch (2024-01-01) when it already holds
 * users (an instance from before the epoch was recorded: its ids count from then), else Discord's (a new one).
 */
export async function inferEpoch(db: UserPresence): Promise<number> {
  return (await db.hasUsers()) ? PARLEY_EPOCH : DISCORD_EPOCH;
}

/**
 * Whether the database holds any user. Storage asks its own way (an id column alone), because it asks right
 * after its migrations, which may be only some of them (tests upgrade from an old schema): a scan of today's
 * columns would fail there.
 */
export interface UserPresence {
  hasUsers(): Promise<boolean>;
}

/** A copy's endpoint, which has every migration: one row of the users scan says it. */
export function usersOf(bulk: Pick<BulkStorage, 'scan'>): UserPresence {
  return { hasUsers: async () => (await bulk.scan('users', null, 1)).records.length > 0 };
}

/** The epoch a database has recorded, else the one inferred from its contents (nothing is written). */
export async function epochOf(db: {
  settings: SettingsRepository;
  bulk: Pick<BulkStorage, 'scan'>;
}): Promise<number> {
  const held = await db.settings.get(SNOWFLAKE_EPOCH_SETTING);
  if (held === null) return inferEpoch(usersOf(db.bulk));
  const ms = parseEpoch(held);
  if (ms === null) throw new Error(`instance setting ${SNOWFLAKE_EPOCH_SETTING} is not an epoch: "${held}"`);
  return ms;
}

/**
 * Records the database's epoch if it has none (once, by claim: processes starting together agree on the first
 * write) and makes it this process's. Every process calls it at startup before minting or decoding an id.
 */
export async function establishSnowflakeEpoch(db: {
  settings: SettingsRepository;
  users: UserPresence;
}): Promise<number> {
  const held = await db.settings.get(SNOWFLAKE_EPOCH_SETTING);
  const value =
    held ?? (await db.settings.claim(SNOWFLAKE_EPOCH_SETTING, String(await inferEpoch(db.users))));
  const ms = parseEpoch(value);
  if (ms === null) throw new Error(`instance setting ${SNOWFLAKE_EPOCH_SETTING} is not an epoch: "${value}"`);
  setSnowflakeEpoch(ms);
  return ms;
}

/**
 * Gives a copy's target the epoch its ids count from (ids are copied as they are, so their epoch travels with
 * them: `parley migrate` and `import`) and makes it this process's. A target that recorded another epoch is
 * set to this one while it holds no users yet (a new database that was only schema-migrated); one that holds
 * data counted from another epoch is refused, since its ids and the copied ones would decode differently.
 */
export async function adoptEpoch(
  target: { settings: SettingsRepository; scan: BulkStorage['scan'] },
  epoch: number,
): Promise<void> {
  const held = parseEpoch(await target.settings.claim(SNOWFLAKE_EPOCH_SETTING, String(epoch)));
  if (held !== epoch) {
    if ((await target.scan('users', null, 1)).records.length > 0)
      throw new Error(
        `the target's ids count from ${new Date(held ?? 0).toISOString()}, the copied ones from ` +
          `${new Date(epoch).toISOString()}: copy into an empty database`,
      );
    await target.settings.put(SNOWFLAKE_EPOCH_SETTING, String(epoch));
  }
  setSnowflakeEpoch(epoch);
}
