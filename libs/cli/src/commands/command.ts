/** One `parley <command>`: its arguments after the command's words in, the process's exit code out. */
export type Command = (args: string[]) => Promise<number>;
