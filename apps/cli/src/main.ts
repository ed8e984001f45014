import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, maskedConfigJson, type ParleyConfig } from '@parley/config';
import {
  comparisonJson,
  compare,
  configuredEndpoint,
  CopyError,
  describeDifference,
  duration,
  exportTo,
  formatComparison,
  importFrom,
  Interrupted,
  migrate,
  openSource,
  openTarget,
  parseEndpoint,
  ProgressDisplay,
  sameEndpoint,
  UsageError,
  type Endpoint,
  type EndpointSpec,
} from '@parley/migration';
import { openStorage, readMaintenance, READ_ONLY_POLL_MS, writeMaintenance } from '@parley/platform';

const USAGE = `usage: parley <command>

commands:
  schema migrate     apply pending schema migrations to the configured database
  config check       validate the configuration and print the effective values (secrets masked)
  migrate --from <db> [--to <db>]
                     copy every table from one database into another (default --to: the configured one),
                     streaming and resumable (run it again after a crash or Ctrl-C), then verify and
                     repair until the target equals the source. Run it once while the instance serves and
                     once more in maintenance mode for the final delta (docs/migration.md).
                       --batch-size <n>      rows per batch (1000)
                       --parallel <n>        batches being written at once (4)
                       --max-in-flight <n>   Cassandra requests in flight (64)
                       --restart             forget the checkpoint and copy everything again
                       --no-verify           copy only
                       --report <file>       write the result as JSON
                       --progress-interval <ms>  log line interval when not on a terminal (5000)
  verify --from <db> [--to <db>] [--report <file>]
                     compare two databases: per-table counts and digests, per-channel message digests;
                     exit 2 if anything differs, naming what
  export --out <file.ndjson[.gz]> [--from <db>]
                     write every table to a versioned NDJSON file (gzip when the name ends in .gz)
  import <file> [--to <db>] [--skip-invalid]
                     validate an export file, then write its records (idempotent); bad lines are reported
                     by number and, unless --skip-invalid, nothing is written
  maintenance on [--message <text>] | off | status  [--db <db>]
                     switch read-only maintenance mode: every server on the database answers writes with
                     503 within about ${READ_ONLY_POLL_MS / 1000} s, reads go on
  help               this text

<db> is sqlite:<path>, cassandra (the configured keyspace) or cassandra:<keyspace>; hosts, data centre and
credentials come from the configuration: config/default.json, PARLEY_CONFIG and PARLEY__SECTION__KEY variables.

exit codes: 0 done, 1 failed, 2 source and target differ, 64 usage, 65 bad import file, 78 bad configuration,
130 interrupted (resumable).`;

type Command = (args: string[]) => Promise<number>;

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, not "${value}"`);
  return n;
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  spec: T,
  positionals = 0,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}

/** --from is required; --to defaults to the configured database; they must differ. */
function endpoints(
  config: ParleyConfig,
  from: string | undefined,
  to: string | undefined,
): [EndpointSpec, EndpointSpec] {
  if (!from) throw new UsageError('--from <db> is required (e.g. --from sqlite:./data/parley.db)');
  const source = parseEndpoint(from, config);
  const target = to ? parseEndpoint(to, config) : configuredEndpoint(config);
  if (sameEndpoint(source, target))
    throw new UsageError(
      `--from and --to name the same database (${from}); the target defaults to the configured database.backend, ` +
        'set it with --to or PARLEY__DATABASE__BACKEND',
    );
  return [source, target];
}

async function withEndpoints<T>(
  open: () => Promise<Endpoint>[],
  work: (source: Endpoint, target: Endpoint) => Promise<T>,
): Promise<T> {
  const opened = await Promise.allSettled(open());
  const ready = opened
    .filter((o): o is PromiseFulfilledResult<Endpoint> => o.status === 'fulfilled')
    .map((o) => o.value);
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    return await work(ready[0], ready[1]);
  } finally {
    await Promise.all(ready.map((e) => e.close().catch(() => undefined)));
  }
}

/** Ctrl-C / SIGTERM: stop reading, finish the batches in flight, save the checkpoint, exit 130. */
function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    err('\nstopping: finishing the batches in flight and saving the checkpoint (again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

const commands: Record<string, Command> = {
  'schema migrate': async () => {
    const config = loadConfig();
    const storage = await openStorage(config);
    await storage.close();
    out(`schema up to date (${config.database.backend})`);
    return 0;
  },

  'config check': () => {
    const config = loadConfig();
    out(maskedConfigJson(config));
    return Promise.resolve(0);
  },

  migrate: async (args) => {
    const { values } = options(args, {
      from: { type: 'string' },
      to: { type: 'string' },
      'batch-size': { type: 'string' },
      parallel: { type: 'string' },
      'max-in-flight': { type: 'string' },
      restart: { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      report: { type: 'string' },
      'progress-interval': { type: 'string' },
    });
    const config = loadConfig();
    const [from, to] = endpoints(config, values.from, values.to);
    const open = { maxInFlight: positiveInt('max-in-flight', values['max-in-flight'], 64) };
    const progress = new ProgressDisplay(process.stderr, {
      intervalMs: positiveInt('progress-interval', values['progress-interval'], 5000),
    });
    return withEndpoints(
      () => [openSource(from, config, open), openTarget(to, config, open)],
      async (source, target) => {
        err(`migrate: ${source.label} -> ${target.label}`);
        const live = !(await readMaintenance(source.bulk.settings).catch(() => ({ enabled: false }))).enabled;
        if (live)
          err(
            'the source is not in maintenance mode: this run is the bulk copy; for the final delta run ' +
              '`npx parley maintenance on` and then this command again',
          );
        const stop = interruptible();
        try {
          const result = await migrate(source, target, {
            batchSize: positiveInt('batch-size', values['batch-size'], 1000),
            parallel: positiveInt('parallel', values.parallel, 4),
            restart: values.restart,
            verify: !values['no-verify'],
            progress,
            signal: stop.signal,
            log: (line) => progress.note(line),
          });
          const lines = ['', 'table          rows   copied now   seconds      rows/s'];
          for (const t of result.copy) {
            const rate = t.seconds > 0 ? Math.round(t.copied / t.seconds) : 0;
            lines.push(
              `${t.table.padEnd(12)} ${t.rows.toLocaleString('en-US').padStart(9)}  ${t.copied
                .toLocaleString('en-US')
                .padStart(
                  11,
                )}  ${t.seconds.toFixed(1).padStart(8)}  ${(t.skipped ? '(done before)' : rate.toLocaleString('en-US')).padStart(10)}`,
            );
          }
          const messages = result.copy.find((t) => t.table === 'messages');
          const rate = messages && messages.seconds > 0 ? messages.copied / messages.seconds : null;
          if (rate !== null)
            lines.push('', `migration rate: ${Math.round(rate).toLocaleString('en-US')} messages/s`);
          if (result.comparison) {
            lines.push('', formatComparison(result.comparison, source.label, target.label));
            const repaired = result.repairs.reduce((sum, r) => sum + r.written + r.removed, 0);
            if (repaired > 0)
              lines.push(
                `repaired ${repaired.toLocaleString('en-US')} rows in the target, then checked them again`,
              );
            for (const r of result.repairs.flatMap((x) => x.refused))
              lines.push(`refused by the target: ${r.table} ${r.key}: ${r.error}`);
            for (const d of result.remaining.slice(0, 20))
              lines.push(`still different: ${describeDifference(d)}`);
            lines.push(
              result.verified
                ? `verified: the target equals the source (${duration(result.seconds)} in total)`
                : `NOT verified: ${result.remaining.length} rows still differ` +
                    (live ? ' (the source is live: switch maintenance mode on and run migrate again)' : ''),
            );
          }
          out(lines.join('\n'));
          if (values.report)
            writeFileSync(
              values.report,
              JSON.stringify(
                {
                  source: source.label,
                  target: target.label,
                  seconds: result.seconds,
                  messages_per_second: rate,
                  copy: result.copy,
                  verified: result.verified,
                  comparison:
                    result.comparison && comparisonJson(result.comparison, source.label, target.label),
                  repaired: result.repairs,
                  remaining: result.remaining.map(describeDifference),
                },
                null,
                2,
              ),
            );
          return result.comparison === null || result.verified ? 0 : 2;
        } catch (e) {
          if (e instanceof Interrupted) {
            err(`migrate: ${e.message}`);
            return 130;
          }
          if (e instanceof CopyError) {
            err(`migrate: the target refused ${e.message}; fix it and run the same command again to resume`);
            return 1;
          }
          throw e;
        } finally {
          stop.dispose();
        }
      },
    );
  },

  verify: async (args) => {
    const { values } = options(args, {
      from: { type: 'string' },
      to: { type: 'string' },
      report: { type: 'string' },
      limit: { type: 'string' },
    });
    const config = loadConfig();
    const [from, to] = endpoints(config, values.from, values.to);
    return withEndpoints(
      () => [openSource(from, config), openSource(to, config)],
      async (source, target) => {
        err(`verify: ${source.label} against ${target.label}`);
        const comparison = await compare(source.bulk, target.bulk, { onTable: (t) => err(`verify: ${t}`) });
        out(formatComparison(comparison, source.label, target.label, positiveInt('limit', values.limit, 20)));
        if (values.report)
          writeFileSync(
            values.report,
            JSON.stringify(comparisonJson(comparison, source.label, target.label), null, 2),
          );
        return comparison.equal ? 0 : 2;
      },
    );
  },

  export: async (args) => {
    const { values } = options(args, {
      out: { type: 'string' },
      from: { type: 'string' },
      'batch-size': { type: 'string' },
    });
    if (!values.out) throw new UsageError('--out <file.ndjson[.gz]> is required');
    const config = loadConfig();
    const from = values.from ? parseEndpoint(values.from, config) : configuredEndpoint(config);
    const source = await openSource(from, config);
    try {
      err(`export: ${source.label} -> ${values.out}`);
      const result = await exportTo(source.bulk, values.out, {
        batchSize: positiveInt('batch-size', values['batch-size'], 2000),
        progress: new ProgressDisplay(process.stderr),
      });
      const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
      out(
        `exported ${total.toLocaleString('en-US')} records to ${values.out} in ${result.seconds.toFixed(1)} s`,
      );
      return 0;
    } finally {
      await source.close();
    }
  },

  import: async (args) => {
    const { values, positionals } = options(
      args,
      { to: { type: 'string' }, 'skip-invalid': { type: 'boolean' }, 'batch-size': { type: 'string' } },
      1,
    );
    const file = positionals[0];
    if (!file) throw new UsageError('import needs the file to read: parley import <file.ndjson[.gz]>');
    const config = loadConfig();
    const to = values.to ? parseEndpoint(values.to, config) : configuredEndpoint(config);
    const target = await openTarget(to, config);
    try {
      err(`import: ${file} -> ${target.label}`);
      const result = await importFrom(target.bulk, file, {
        skipInvalid: values['skip-invalid'],
        batchSize: positiveInt('batch-size', values['batch-size'], 1000),
        onProblem: (p) => err(`${file}:${p.line}: ${p.message}`),
        onTable: (t) => err(`import: ${t}`),
      });
      const valid = Object.values(result.records).reduce((a, b) => a + b, 0);
      if (result.problems.length > 0 && result.applied === 0 && !values['skip-invalid']) {
        out(
          `${result.problems.length} bad line(s) in ${file}; nothing was imported ` +
            '(fix them, or import the valid records with --skip-invalid)',
        );
        return 65;
      }
      out(
        `imported ${result.applied.toLocaleString('en-US')} of ${valid.toLocaleString('en-US')} valid records ` +
          `in ${result.seconds.toFixed(1)} s` +
          (result.problems.length > 0
            ? `; ${result.problems.length} line(s) were not imported (see above)`
            : ''),
      );
      return result.problems.length > 0 ? 65 : 0;
    } finally {
      await target.close();
    }
  },

  maintenance: async (args) => {
    const { values, positionals } = options(args, { db: { type: 'string' }, message: { type: 'string' } }, 1);
    const action = positionals[0];
    if (action !== 'on' && action !== 'off' && action !== 'status')
      throw new UsageError('maintenance needs on, off or status');
    const config = loadConfig();
    const spec = values.db ? parseEndpoint(values.db, config) : configuredEndpoint(config);
    const db = await openTarget(spec, config);
    try {
      const settings = db.bulk.settings;
      if (action !== 'status') {
        const enabled = action === 'on';
        await writeMaintenance(settings, {
          enabled,
          since: enabled ? Date.now() : null,
          message: enabled ? (values.message ?? null) : null,
        });
      }
      const state = await readMaintenance(settings);
      const forced = config.instance.read_only
        ? ' (and instance.read_only is set in this configuration)'
        : '';
      out(
        state.enabled
          ? `maintenance mode is ON for ${db.label} since ${new Date(state.since ?? 0).toISOString()}` +
              `${state.message ? `: ${state.message}` : ''}${forced}; writes answer 503`
          : `maintenance mode is OFF for ${db.label}${forced}`,
      );
      if (action !== 'status')
        out(`every server on this database follows within about ${READ_ONLY_POLL_MS / 1000} s`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

async function main(argv: string[]): Promise<number> {
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError) {
      err(`parley: ${e.message}`);
      process.exit(78);
    }
    if (e instanceof UsageError) {
      err(`parley: ${e.message}\n(parley help lists the commands and options)`);
      process.exit(64);
    }
    err(`parley: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
