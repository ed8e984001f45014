import { z } from 'zod';
import { regionProblems } from './regions';

// Durations are milliseconds unless the key says otherwise; sizes are bytes.
const ms = () => z.number().int().nonnegative();
const positive = () => z.number().int().positive();

export const consistencyLevel = z.enum([
  'ONE',
  'TWO',
  'THREE',
  'QUORUM',
  'ALL',
  'LOCAL_QUORUM',
  'EACH_QUORUM',
  'LOCAL_ONE',
]);

const REGION_NAME = /^[a-z0-9-]{1,32}$/;

const rateRule = z.strictObject({ limit: positive(), window_ms: positive() });

export const configSchema = z
  .strictObject({
    instance: z.strictObject({
      name: z.string().min(1),
      deployment_mode: z.enum(['monolith', 'microservices']),
      region: z.string().regex(REGION_NAME),
      region_id: z.number().int().min(0).max(7),
      // Multi-region: every region of the deployment (the same table in each region's config), see regions.ts.
      regions: z.record(
        z.string().regex(REGION_NAME),
        z.strictObject({ id: z.number().int().min(0).max(7), dc: z.string().min(1) }),
      ),
      node_id: z.number().int().min(0).max(127),
      read_only: z.boolean(),
      // Microservices: claim a free node_id in Redis at start (replicas of one Deployment share their config).
      claim_node_id: z.boolean(),
      // How long a claimed node id is leased; renewed every sixth of it, no id minted once half of it passed unrenewed.
      node_id_lease: z.number().int().min(1_000),
      // Who may create an account: anyone; only with a valid invite code (a guild invite, as Discord's register
      // takes it); anyone, but an instance admin approves each account before it can log in; nobody.
      registration: z.enum(['open', 'invite_only', 'approval', 'closed']),
      // Instance administrators named here (user ids or email addresses), on top of those stored (the first
      // account of a new instance when first_account_admin is on). Read at every check: no restart of data.
      admins: z.array(z.string().min(1).max(320)).max(1000),
      // The first account registered on a new instance (no accounts yet) becomes an instance admin.
      first_account_admin: z.boolean(),
      // How long the instance audit log (admin actions) keeps an entry.
      audit_log_retention_days: z.number().int().min(1).max(3650),
      // What `DELETE /users/@me` (and an admin's deletion) does with the account's messages: keep them under
      // "Deleted User" (anonymize) or delete them with the account (delete). docs/accounts.md.
      account_deletion: z.enum(['anonymize', 'delete']),
    }),
    database: z.strictObject({
      backend: z.enum(['sqlite', 'cassandra']),
      sqlite: z.strictObject({
        path: z.string().min(1),
        max_open_conns: z.number().int().min(1).max(64),
        busy_timeout: ms(),
        cache_size: z.number().int(),
        mmap_size: z.number().int().nonnegative(),
        synchronous: z.enum(['OFF', 'NORMAL', 'FULL', 'EXTRA']),
        wal_autocheckpoint: z.number().int().nonnegative(),
      }),
      cassandra: z.strictObject({
        hosts: z.array(z.string().min(1)).min(1),
        port: positive(),
        keyspace: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/),
        local_dc: z.string().min(1),
        username: z.string(),
        password: z.string(),
        consistency: z.strictObject({
          read: consistencyLevel,
          write: consistencyLevel,
          // Paxos phase of the lightweight transactions (member and reaction rows, job leases, nonces).
          serial: z.enum(['SERIAL', 'LOCAL_SERIAL']),
          // Paxos phase of the claims that must be unique everywhere (usernames, emails, DM pairs, invite codes).
          claim: z.enum(['SERIAL', 'LOCAL_SERIAL']).default('SERIAL'),
        }),
        replication: z.record(z.string(), positive()),
        pool_size: positive(),
        request_timeout: ms(),
        // One attempt's wait before the driver tries another replica (idempotent statements), within the
        // request_timeout deadline of the whole call.
        attempt_timeout: ms().default(6000),
        // An idempotent read unanswered after this many ms is also sent to a second replica; 0 turns it off.
        speculative_read_delay: z.number().int().nonnegative().default(100),
        // Hot-read caches (user rows for history authors, channel rows): entry lifetime in ms (0: coalescing only)
        // and entries per cache. Bucket lists are kept for bucket_list_ttl (safe: see docs/cassandra.md).
        cache_ttl: z.number().int().nonnegative().default(5000),
        cache_entries: positive().default(10000),
        bucket_list_ttl: z.number().int().nonnegative().default(60000),
      }),
    }),
    server: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(0).max(65535),
      read_timeout: ms(),
      write_timeout: ms(),
      idle_timeout: ms(),
      body_limit: positive(),
      // false, true (any hop: only when nothing but the proxy can reach the port), a hop count, or the proxies'
      // addresses and CIDRs: which X-Forwarded-For entries name the client (rate limits, logs).
      trust_proxy: z.union([
        z.boolean(),
        z.number().int().min(1).max(32),
        z
          .array(
            z.union([
              z.ipv4(),
              z.ipv6(),
              z.cidrv4(),
              z.cidrv6(),
              z.enum(['loopback', 'linklocal', 'uniquelocal']),
            ]),
          )
          .min(1),
      ]),
    }),
    gateway: z.strictObject({
      port: z.number().int().min(0).max(65535),
      heartbeat_interval: positive(),
      heartbeat_timeout: positive(),
      client_buffer_size: positive(),
      session_ttl: positive(),
      event_retention: positive(),
      write_coalescing_ms: ms(),
      max_connections: positive(),
      max_payload: positive(),
      inbound_rate: rateRule,
      // Abuse limits (off with rate_limits.enabled: false): shared by every gateway node in microservices mode.
      // Connected sessions per user and connections per client address, at once.
      max_sessions_per_user: positive(),
      max_connections_per_ip: positive(),
      // Handshakes per client address, client events per user (all their sockets, across resumes), and
      // chosen presence statuses per user, each per window.
      handshake_rate: rateRule,
      user_inbound_rate: rateRule,
      presence_rate: rateRule,
      per_message_deflate: z.boolean(),
      transports: z.array(z.enum(['websocket', 'polling'])).min(1),
      // Guild-mates whose presence READY reports, at most (0: none).
      ready_presence_limit: z.number().int().min(0).max(100_000),
      // Guilds with more members than this get no PRESENCE_UPDATE for connects and disconnects (0: every guild does).
      presence_large_threshold: z.number().int().min(0),
      // While a client is connected its resume buffer keeps only this much (what may still be in flight); after
      // a drop it keeps everything up to event_retention.
      resume_buffer: z.strictObject({ connected_max_bytes: positive(), connected_max_age: positive() }),
      // SIGTERM: sessions are told to resume elsewhere, batch_size every interval ms; the node answers handovers
      // until it holds no session or timeout ms have passed.
      // On SIGTERM: sessions told to move per tick, ms between ticks, at most this many told and not yet taken over
      // at once (the drain runs at the pace the other nodes take them), how long one counts as on its way,
      // and how long the node keeps answering handovers.
      drain: z.strictObject({
        batch_size: positive(),
        interval: positive(),
        window: positive(),
        handover_wait: positive(),
        timeout: positive(),
      }),
      // READYs whose reads run at once per node, and the random delay (ms) of one that had to wait.
      ready_concurrency: positive(),
      ready_jitter: ms(),
      // Routing work queued per guild on a node while that guild waits (a storage read); past it the guild's
      // sessions on the node start over rather than wait without bound.
      routing_queue_limit: positive(),
      // A fan-out to more than 256 sessions of a node writes for about this long (ms), then yields to I/O.
      fanout_slice_ms: positive(),
      // The Discord gateway's public URL that GET /gateway(/bot) reports ("": ws(s)://<request host>/discord-gateway).
      discord_url: z.union([z.literal(''), z.string().regex(/^wss?:\/\/[^\s?#]+$/)]),
    }),
    redis: z.strictObject({
      url: z.string().min(1),
      // Every key this deployment writes starts with it: several deployments (or test runs) can share a server.
      key_prefix: z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/),
      command_timeout: positive(),
    }),
    nats: z.strictObject({
      url: z.string().min(1),
      auth_token: z.string(),
      // First token of every subject and the stream names' stem: several deployments can share a NATS cluster.
      subject_prefix: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/),
      request_timeout: positive(),
      breaker: z.strictObject({ failure_threshold: positive(), reset_after: positive() }),
      jobs: z.strictObject({ ack_wait: positive(), replicas: z.number().int().min(1).max(5) }),
      // The two-minute event history (`<prefix>_events`): replicas, and bytes sized by event rate (docs/scaling.md).
      // `file` storage survives a NATS restart, so gateways catch up after one; `memory` does only with replicas.
      events: z.strictObject({
        replicas: z.number().int().min(1).max(5),
        max_bytes: positive(),
        storage: z.enum(['file', 'memory']),
      }),
    }),
    // Listening ports of the roles that have no other section (microservices mode).
    media_proxy: z.strictObject({ port: z.number().int().min(0).max(65535) }),
    queue: z.strictObject({ port: z.number().int().min(0).max(65535) }),
    storage: z.strictObject({
      driver: z.enum(['local', 's3']),
      max_upload_size: positive(),
      local: z.strictObject({ path: z.string().min(1) }),
      s3: z.strictObject({
        endpoint: z.string(),
        bucket: z.string(),
        region: z.string(),
        access_key_id: z.string(),
        secret_access_key: z.string(),
        force_path_style: z.boolean(),
        presigned_url_base: z.string(),
      }),
    }),
    media: z.strictObject({
      // HMAC key for signed media URLs; empty = a random key per process (the media roles refuse to
      // start that way in microservices mode, where api signs what media-proxy verifies).
      signing_secret: z.string(),
      signed_url_ttl: positive(),
      upload_url_ttl: positive(),
      // Uploads no message claimed within this long are deleted (file and row); 0 keeps them until their channel goes.
      unattached_upload_ttl: ms(),
      // Bytes of attachments one user may hold (claimed or not); 0 = unlimited.
      user_quota: z.number().int().nonnegative(),
      max_image_dimension: z.number().int().min(16).max(16_384),
      max_input_pixels: positive(),
      max_avatar_size: positive(),
      cache_max_age_seconds: z.number().int().nonnegative(),
      // Custom guild emoji: image size (Discord: 256 KiB) and how many a guild may hold of each kind.
      emoji: z.strictObject({
        max_size: positive(),
        max_static: z.number().int().min(0).max(10_000),
        max_animated: z.number().int().min(0).max(10_000),
      }),
      external: z.strictObject({
        enabled: z.boolean(),
        max_size: positive(),
        timeout: positive(),
        max_redirects: z.number().int().min(0).max(10),
      }),
    }),
    voice: z.strictObject({
      livekit: z.strictObject({ url: z.string(), api_key: z.string(), api_secret: z.string() }),
    }),
    auth: z.strictObject({
      argon2: z.strictObject({
        memory_cost: z.number().int().min(1024),
        time_cost: z.number().int().min(1),
        parallelism: z.number().int().min(1),
      }),
      // Sliding bearer-token lifetime: each use extends it (ms; 0 = until logout).
      token_ttl: ms(),
      // Failed logins per account (known or not) before it locks; each further failure doubles the lock.
      login_lockout: z.strictObject({
        max_failures: positive(),
        base_ms: positive(),
        max_ms: positive(),
        reset_ms: positive(),
      }),
      // Email verification on registration: off; optional (the client nags); required (an unverified account can
      // do nothing but verify, resend, read itself and log out). optional and required need smtp.host.
      email_verification: z.enum(['off', 'optional', 'required']),
      // Lifetimes of the single-use links mailed for verification and for a password reset (ms).
      verify_token_ttl: positive(),
      reset_token_ttl: positive(),
      // The web client's public address, the base of every link in account mail ("" = http://server.host:port).
      public_url: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
      // Single sign-on over OpenID Connect (docs/accounts.md#single-sign-on-openid-connect).
      oidc: z.strictObject({
        providers: z
          .array(
            z.strictObject({
              // In the routes (`/auth/oidc/<id>/start`) and stored with each linked identity: never rename one.
              id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/),
              // What the login screen's button says ("Log in with <name>").
              name: z.string().min(1).max(64),
              // The issuer; its /.well-known/openid-configuration is read at the first login.
              issuer: z.url({ protocol: /^https?$/ }),
              client_id: z.string().min(1),
              client_secret: z.string(),
              scopes: z.array(z.string().min(1)).min(1),
            }),
          )
          .superRefine((providers, ctx) => {
            const seen = new Set<string>();
            for (const [i, p] of providers.entries()) {
              if (seen.has(p.id))
                ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate id ${p.id}` });
              seen.add(p.id);
            }
          }),
        // Only single sign-on: password login and registration are refused (needs at least one provider).
        sso_only: z.boolean(),
        // How long a started login (its state, nonce and PKCE verifier) and a pending link wait (ms).
        state_ttl: positive(),
      }),
    }),
    // Outgoing mail (account emails); an empty host sends none.
    smtp: z.strictObject({
      host: z.string(),
      port: z.number().int().min(1).max(65535),
      // true = TLS from the first byte (465); false = STARTTLS when the server offers it (587, 25).
      secure: z.boolean(),
      user: z.string(),
      password: z.string(),
      from: z.string().min(1),
    }),
    rate_limits: z.strictObject({
      enabled: z.boolean(),
      global: rateRule,
      routes: z.record(z.string(), rateRule),
    }),
    jobs: z.strictObject({
      poll_interval: positive(),
      max_attempts: positive(),
      concurrency: positive(),
      deadline: positive(),
      // The monolith's jobs table: how long new job runs wait for the process to be quiet (no HTTP request in
      // flight) while it serves requests; 0 starts them at once.
      yield_max: z.number().int().min(0),
    }),
    // Link previews (docs/messages.md, "Link previews"): links in user messages unfurled by the queue role.
    unfurl: z.strictObject({
      enabled: z.boolean(),
      // Hosts (names or IP addresses, as written in the link) that may be fetched although they resolve to a
      // private or loopback address: an intranet wiki, a test server. Everything else private is never fetched.
      allow_private_hosts: z.array(z.string().min(1).max(253).toLowerCase()).max(100),
      // ms to establish the connection, and for the whole fetch (every redirect and the body).
      connect_timeout: positive(),
      timeout: positive(),
      // Bytes of a page read at most (the head of a page holds its OpenGraph tags).
      max_bytes: positive(),
      max_redirects: z.number().int().min(0).max(10),
      // How long a preview is reused for the same URL (ms), and a page that had none or failed.
      cache_ttl: positive(),
      failure_ttl: positive(),
      user_agent: z.string().min(1).max(256),
    }),
    // Guild moderation (docs/moderation.md).
    moderation: z.strictObject({
      // How long audit log entries are kept (Discord keeps 45 days); each entry keeps the value it was written under.
      audit_log_retention_days: z.number().int().min(1).max(3650),
    }),
    // Web Push and email for users who are away (docs/notifications.md).
    notifications: z.strictObject({
      push: z.strictObject({
        enabled: z.boolean(),
        // VAPID keys (base64url, as `web-push generate-vapid-keys` prints them); both empty = generated on first
        // start and kept in storage (instance_secrets), shared by every process. One without the other is refused.
        vapid_public_key: z.string(),
        vapid_private_key: z.string(),
        // Who push services may contact: a mailto: or https: URL ("" = auth.public_url, else mailto:parley@localhost).
        vapid_subject: z.union([z.literal(''), z.string().regex(/^(mailto:|https:\/\/)\S+$/)]),
        // Push service hosts (names or IP addresses) admitted although they resolve to private addresses:
        // a self-hosted push service on the LAN. Everything else private is refused (SSRF guard).
        allow_private_hosts: z.array(z.string().min(1).max(253)).max(100),
        // One push per user and channel within this long (ms); later messages in the window are folded into it.
        coalesce_window: ms(),
        // How long a push service keeps an undelivered push (seconds, the TTL header).
        ttl: z.number().int().min(0).max(2_419_200),
        // Each delivery's HTTP timeout (ms).
        timeout: positive(),
        // Devices per user; subscribing one more replaces the oldest.
        max_subscriptions: z.number().int().min(1).max(100),
      }),
      email: z.strictObject({
        // Needs smtp.host as well.
        enabled: z.boolean(),
        // Mentions and DMs still unread this long after they arrived are mailed (ms; one mail per user per delay).
        delay: positive(),
      }),
    }),
    logging: z.strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    }),
    telemetry: z.strictObject({
      enabled: z.boolean(),
      // Head sampling: the share of traces started here that are recorded (parent-based downstream).
      sample_rate: z.number().min(0).max(1),
      // OTLP/HTTP collector: base URL (`/v1/traces` is appended) or the full traces URL; required when enabled.
      otlp_endpoint: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
    }),
    metrics: z.strictObject({
      enabled: z.boolean(),
      // host:port of an internal listener that alone serves /metrics and /api/docs ("" = the public port).
      listen: z.string().regex(/^(|\[?[^\s\]]*\]?:\d{1,5})$/, 'host:port, e.g. 127.0.0.1:9464'),
    }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.auth.email_verification !== 'off' && cfg.smtp.host === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'email_verification'],
        message: `"${cfg.auth.email_verification}" needs mail: set smtp.host, or use "off"`,
      });
    }
    if (
      (cfg.notifications.push.vapid_public_key === '') !==
      (cfg.notifications.push.vapid_private_key === '')
    )
      ctx.addIssue({
        code: 'custom',
        path: ['notifications', 'push', 'vapid_private_key'],
        message: 'set both vapid_public_key and vapid_private_key, or neither (generated on first start)',
      });
    if (cfg.auth.oidc.sso_only && cfg.auth.oidc.providers.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'oidc', 'sso_only'],
        message: 'needs at least one provider in auth.oidc.providers (nobody could log in)',
      });
    }
    if (cfg.storage.driver === 's3') {
      for (const key of ['endpoint', 'bucket', 'region', 'access_key_id', 'secret_access_key'] as const) {
        if (!cfg.storage.s3[key]) {
          ctx.addIssue({
            code: 'custom',
            path: ['storage', 's3', key],
            message: 'required when storage.driver is "s3"',
          });
        }
      }
    }
    if (
      cfg.database.backend === 'cassandra' &&
      !(cfg.database.cassandra.local_dc in cfg.database.cassandra.replication)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'cassandra', 'replication'],
        message: `must include the local data centre "${cfg.database.cassandra.local_dc}"`,
      });
    }
    if (cfg.telemetry.enabled && !cfg.telemetry.otlp_endpoint)
      ctx.addIssue({
        code: 'custom',
        path: ['telemetry', 'otlp_endpoint'],
        message: 'required when telemetry.enabled is true (e.g. "http://127.0.0.1:4318")',
      });
    // The api signs what the media proxy verifies: separate processes need one shared key.
    if (cfg.instance.deployment_mode === 'microservices' && cfg.media.signing_secret.length < 32) {
      ctx.addIssue({
        code: 'custom',
        path: ['media', 'signing_secret'],
        message:
          'must be at least 32 characters, the same in every process, when instance.deployment_mode is "microservices"',
      });
    }
    for (const problem of regionProblems(cfg)) ctx.addIssue({ code: 'custom', ...problem });
  });

export type ParleyConfig = z.infer<typeof configSchema>;
