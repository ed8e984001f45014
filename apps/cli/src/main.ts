import 'reflect-metadata';
import { runCli } from '@parley/cli';

// The operator CLI's entry point: every command lives in @parley/cli.
void runCli(process.argv.slice(2)).then((code) => process.exit(code));
