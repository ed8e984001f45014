import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A scratch directory for the upgrade suites: databases made there, and copies of a driver's migrations as an
 * older release shipped them (a migration whose number `dropped` names is left out), so a suite can store data
 * under the old schema and then run the new migrations over it. Open it in `beforeAll`, close it in `afterAll`.
 */
export class OldSchema {
  private root = '';

  open(prefix: string): void {
    this.root = mkdtempSync(join(tmpdir(), prefix));
  }

  close(): void {
    if (this.root) rmSync(this.root, { recursive: true, force: true });
  }

  /** A path inside the scratch directory. */
  path(name: string): string {
    return join(this.root, name);
  }

  /** A fresh copy of the migrations in `source` without those whose four-digit number `dropped` accepts. */
  migrations(source: string, dropped: (n: number) => boolean): string {
    const copy = this.path(`migrations-${readdirSync(this.root).length}`);
    cpSync(source, copy, { recursive: true });
    for (const file of readdirSync(copy)) if (dropped(Number(file.slice(0, 4)))) rmSync(join(copy, file));
    return copy;
  }
}
