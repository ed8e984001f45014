import type { Command } from './command';
import { configCheck } from './config-check';
import { exportCommand } from './export';
import { importCommand } from './import';
import { maintenance } from './maintenance';
import { migrate } from './migrate';
import { schemaMigrate } from './schema-migrate';
import { verify } from './verify';

export type { Command } from './command';

/** Every command by the words that name it (`parley schema migrate` is two words). */
export const commands: Record<string, Command> = {
  'schema migrate': schemaMigrate,
  'config check': configCheck,
  migrate,
  verify,
  export: exportCommand,
  import: importCommand,
  maintenance,
};
