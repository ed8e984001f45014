import 'reflect-metadata';
import { ConfigError, loadConfig } from '@parley/config';
import { openStorage } from '@parley/platform';

const USAGE = `usage: parley <command>

commands:
  schema migrate     apply pending schema migrations to the configured database
  config check       validate the configuration and print the effective values (secrets masked)
  help               this text

Configuration comes from config/default.json, PARLEY_CONFIG and PARLEY__SECTION__KEY variables.`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  'schema migrate': async () => {
    const config = loadConfig();
    const storage = await openStorage(config);
    await storage.close();
    process.stdout.write(`schema up to date (${config.database.backend})\n`);
    return 0;
  },
  'config check': () => {
    const config = loadConfig();
    const masked = JSON.stringify(
      config,
      (key, value: unknown) =>
        /(password|secret|token|api_key)/.test(key) && typeof value === 'string' && value ? '***' : value,
      2,
    );
    process.stdout.write(`${masked}\n`);
    return Promise.resolve(0);
  },
};

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 64 : 0;
  }
  for (const [name, run] of Object.entries(commands)) {
    const words = name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return run(argv.slice(words.length));
  }
  process.stderr.write(`parley: unknown command "${argv.join(' ')}"\n\n${USAGE}\n`);
  return 64;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
