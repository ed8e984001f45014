import { ConfigError } from '@parley/config';
import { UsageError } from '@parley/migration';
import { commands } from './commands';
import { err, out } from './output';
import { USAGE } from './usage';

/** Finds the command named by the first words of argv and runs it; no command or an unknown one exits 64. */
async function dispatch(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    out(USAGE);
    return argv.length === 0 ? 64 : 0;
  }
  for (const [name, run] of Object.entries(commands)) {
    const words = name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return run(argv.slice(words.length));
  }
  err(`parley: unknown command "${argv.join(' ')}"\n\n${USAGE}`);
  return 64;
}

/**
 * Runs `parley <argv>` and answers the process's exit code: the command's own, or for a failure
 * 78 (bad configuration), 64 (usage) or 1 (anything else), with the reason on stderr.
 */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`parley: ${e.message}`);
      return 78;
    }
    if (e instanceof UsageError) {
      err(`parley: ${e.message}\n(parley help lists the commands and options)`);
      return 64;
    }
    err(`parley: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
