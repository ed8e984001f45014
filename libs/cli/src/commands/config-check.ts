import { loadConfig, maskedConfigJson } from '@parley/config';
import { out } from '../output';
import type { Command } from './command';

/** `parley config check`: loading validates (a bad key exits 78); the effective values print with secrets masked. */
export const configCheck: Command = () => {
  out(maskedConfigJson(loadConfig()));
  return Promise.resolve(0);
};
