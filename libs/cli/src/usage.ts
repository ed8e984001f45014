import { READ_ONLY_POLL_MS } from '@parley/platform';

/** `parley help`: every command, its flags, the database notation and the exit codes. */
export const USAGE = `usage: parley <command>

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
  verify --deleted-accounts [--from <db>]
                     read one database (default: the configured one) for personal data its deleted accounts
                     left behind (their row, sessions, memberships, settings, identities, and their messages
                     with instance.account_deletion = delete); exit 2 if any
  verify --claims [--from <db>]
                     read one database (default: the configured one) for uniqueness claims (usernames,
                     emails, DM pairs, invite codes) without their holder, or holders without their claim;
                     exit 2 if any, naming each
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
