/** The command's answer goes to stdout (scripts read it); progress, notes and errors go to stderr. */
export const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
export const err = (text: string): void => {
  process.stderr.write(`${text}\n`);
};
