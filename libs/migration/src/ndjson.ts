import {
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  closeSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** A line-numbered reader over a plain or gzip file (told apart by its first bytes, not its name). */
export async function* readLines(path: string): AsyncGenerator<{ number: number; text: string }> {
  const file = createReadStream(path);
  let input: Readable = file;
  if (isGzip(path)) {
    const gunzip = createGunzip();
    file.on('error', (err) => gunzip.destroy(err));
    input = file.pipe(gunzip);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of lines) {
      number++;
      yield { number, text };
    }
  } catch (err) {
    throw new Error(`line ${number + 1}: cannot read ${path} (${(err as Error).message})`);
  } finally {
    lines.close();
    file.destroy();
  }
}

/**
 * Writes lines to `<path>.partial`, gzip-compressed when the path ends in .gz, honouring backpressure;
 * `close()` renames it into place, so an interrupted export never leaves a file under the final name.
 */
export class LineWriter {
  private readonly file: Writable;
  private readonly out: Writable;
  private readonly partial: string;

  constructor(private readonly path: string) {
    this.partial = `${path}.partial`;
    this.file = createWriteStream(this.partial);
    if (path.endsWith('.gz')) {
      const gzip = createGzip({ level: 6 });
      gzip.pipe(this.file);
      this.out = gzip;
    } else {
      this.out = this.file;
    }
  }

  async write(line: string): Promise<void> {
    if (!this.out.write(`${line}\n`)) await new Promise<void>((resolve) => this.out.once('drain', resolve));
  }

  async close(): Promise<void> {
    this.out.end();
    await finished(this.file);
    renameSync(this.partial, this.path);
  }

  abort(): void {
    this.out.destroy();
    this.file.destroy();
    rmSync(this.partial, { force: true });
  }
}
