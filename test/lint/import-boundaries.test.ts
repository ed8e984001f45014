import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The import direction of libs/*: eslint.config.mjs's rule reports an import its README does not allow, and the
 * rule's table is what the READMEs say. ESLint loads its (ESM) config in a child process of its own: Jest's
 * module sandbox cannot import ESM.
 */
const ROOT = join(__dirname, '../..');

interface Case {
  file: string;
  source: string;
}
interface Verdict {
  file: string;
  messages: { ruleId: string | null; message: string }[];
}

/** Lints each source as if it were `file`, with the no-restricted-imports options the config gives that path. */
function lintAs(cases: Case[]): Verdict[] {
  const script = `
    const { ESLint, Linter } = require('eslint');
    const parser = require('@typescript-eslint/parser');
    (async () => {
      const cases = JSON.parse(process.argv[1]);
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const c of cases) {
        const config = await eslint.calculateConfigForFile(c.file);
        const rule = config.rules['no-restricted-imports'];
        const messages = new Linter({ configType: 'flat' }).verify(
          c.source,
          [{ files: ['**/*.ts'], languageOptions: { parser }, rules: { 'no-restricted-imports': rule } }],
          c.file,
        );
        out.push({ file: c.file, messages: messages.map((m) => ({ ruleId: m.ruleId, message: m.message })) });
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
  `;
  const stdout = execFileSync(process.execPath, ['-e', script, JSON.stringify(cases)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as Verdict[];
}

/** The table of eslint.config.mjs, read in a child process (see above). */
function libraryImports(): Record<string, string[]> {
  const stdout = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const m = await import('./eslint.config.mjs'); process.stdout.write(JSON.stringify(m.LIBRARY_IMPORTS));",
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return JSON.parse(stdout) as Record<string, string[]>;
}

/** The libraries a README's "May import:" sentence names (`*` for every one, none for "no other"). */
function readmeAllows(lib: string): string[] {
  const text = readFileSync(join(ROOT, 'libs', lib, 'README.md'), 'utf8');
  const sentence = /May import: ([\s\S]*?)(?:\.\s|\.$)/.exec(text)?.[1];
  if (sentence === undefined) throw new Error(`libs/${lib}/README.md has no "May import:" sentence`);
  if (/^every /.test(sentence)) return ['*'];
  if (/^no other /.test(sentence)) return [];
  return [...sentence.matchAll(/`@parley\/([a-z-]+)`/g)].map((m) => m[1]);
}

const BAD: Case[] = [
  {
    file: 'libs/storage/src/repositories.ts',
    source: "import { ChatModule } from '@parley/chat';\nvoid ChatModule;\n",
  },
  {
    file: 'libs/common/src/ids.ts',
    source: "import { loadConfig } from '@parley/config';\nvoid loadConfig;\n",
  },
  {
    file: 'libs/chat/src/messages.spec.ts',
    source: "import { GatewayServer } from '@parley/realtime';\nvoid GatewayServer;\n",
  },
  {
    file: 'libs/bus/src/bus.ts',
    source: "import type { GuildsService } from '@parley/chat';\nexport type G = GuildsService;\n",
  },
  { file: 'libs/http/src/index.ts', source: "export * from '@parley/auth';\n" },
];
const GOOD: Case[] = [
  {
    file: 'libs/chat/src/messages.ts',
    source:
      "import { AuthGuard } from '@parley/auth';\nimport { Snowflake } from '@parley/common';\nimport { z } from 'zod';\nimport { x } from './x';\nvoid [AuthGuard, Snowflake, z, x];\n",
  },
  { file: 'libs/storage/src/testing/index.ts', source: "export * from '@parley/storage';\n" },
  {
    file: 'libs/platform/src/server.module.ts',
    source: "import { GatewayServer } from '@parley/realtime';\nvoid GatewayServer;\n",
  },
  {
    file: 'apps/server/src/main.ts',
    source: "import { ServerModule } from '@parley/platform';\nvoid ServerModule;\n",
  },
];
const REACHING: Case[] = [
  {
    file: 'libs/platform/src/roles/x.ts',
    source: "import { main } from '../../../../apps/server/src/main';\nvoid main;\n",
  },
  { file: 'libs/chat/src/x.ts', source: "import { Repo } from '../../storage/src/repo';\nvoid Repo;\n" },
];

describe('library import boundaries (eslint.config.mjs)', () => {
  let table: Record<string, string[]> = {};
  let verdicts: Verdict[] = [];
  // One ESLint process for every case (loading the config and the parser is most of the cost).
  beforeAll(() => {
    table = libraryImports();
    verdicts = lintAs([...BAD, ...GOOD, ...REACHING]);
  }, 120_000);
  const verdictsOf = (cases: Case[]) => cases.map((c) => verdicts.find((v) => v.file === c.file)!);

  it('has the table every library README states, and a row for every library', () => {
    const libs = readFileSync(join(ROOT, 'tsconfig.json'), 'utf8').match(/"@parley\/([a-z-]+)"/g) ?? [];
    const names = [...new Set(libs.map((l) => l.slice('"@parley/'.length, -1)))].sort();
    expect(Object.keys(table).sort()).toEqual(names);
    for (const lib of names)
      expect({ lib, allows: readmeAllows(lib).sort() }).toEqual({ lib, allows: [...table[lib]].sort() });
  });

  it('reports an import the README does not allow, in sources and specs alike', () => {
    const [storage, common, spec, typeOnly, reexport] = verdictsOf(BAD);
    for (const verdict of [storage, common, spec, typeOnly, reexport]) {
      expect(verdict.messages.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
    }
    expect(storage.messages[0].message).toContain(
      'libs/storage may import only @parley/common, @parley/config',
    );
    expect(storage.messages[0].message).toContain('libs/storage/README.md');
    expect(common.messages[0].message).toContain('libs/common may import only no other @parley/* library');
  });

  it('lets through what the README allows, the library itself, packages and its own relative files', () => {
    for (const verdict of verdictsOf(GOOD)) expect(verdict).toEqual({ file: verdict.file, messages: [] });
  });

  it('keeps libraries away from apps and from each other’s sources by relative path', () => {
    const [app, relative] = verdictsOf(REACHING);
    expect(app.messages.map((m) => m.message)).toEqual([
      expect.stringContaining('never import applications'),
    ]);
    expect(relative.messages.map((m) => m.message)).toEqual([
      expect.stringContaining('Import libraries through @parley/* aliases.'),
    ]);
  });
});
