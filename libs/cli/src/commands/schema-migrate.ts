import { loadConfig } from '@parley/config';
import { openStorage } from '@parley/platform';
import { out } from '../output';
import type { Command } from './command';

/** `parley schema migrate`: opening the storage applies its pending migrations. */
export const schemaMigrate: Command = async () => {
  const config = loadConfig();
  const storage = await openStorage(config);
  await storage.close();
  out(`schema up to date (${config.database.backend})`);
  return 0;
};
