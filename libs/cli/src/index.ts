export { runCli } from './run';
export { commands, type Command } from './commands';
export { USAGE } from './usage';
