import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthCoreModule, AuthService } from '@parley/auth';
import { InProcessEventBus } from '@parley/bus';
import {
  AccessService,
  BanService,
  ChannelService,
  ChatCoreModule,
  GuildService,
  InviteService,
  MemberService,
  MessageService,
  RelationshipService,
  RoleService,
} from '@parley/chat';
import { deepMerge, loadConfig, type ParleyConfig } from '@parley/config';
import { CoreModule } from '@parley/platform';

/**
 * The chat and auth services as the monolith builds them (Nest modules, in-process bus, durable jobs), on a
 * fresh SQLite file in a temp dir, without HTTP: for specs of the business rules below the REST layer.
 */
export interface DomainServices {
  config: ParleyConfig;
  auth: AuthService;
  access: AccessService;
  guilds: GuildService;
  /** Members, bans, roles and invites by the resource they act on. */
  members: MemberService;
  bans: BanService;
  roles: RoleService;
  invites: InviteService;
  channels: ChannelService;
  messages: MessageService;
  /** Blocks and DM privacy. */
  relationships: RelationshipService;
  /** Registers an account (password `password123`, cheap argon2 costs): its id, unique username and token. */
  register(name: string): Promise<{ id: string; username: string; token: string }>;
  /**
   * Delivers the events published so far, as the monolith does before it reads the next request: the
   * services' caches drop what a change announced (roles, members, overwrites).
   */
  settle(): void;
  close(): Promise<void>;
}

type Tree = Record<string, unknown>;

export async function startDomainServices(overrides: Tree = {}): Promise<DomainServices> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-services-'));
  let context: INestApplicationContext | undefined;
  try {
    const config = loadConfig({
      env: {},
      overrides: deepMerge(
        {
          database: { sqlite: { path: join(dir, 'parley.db') } },
          logging: { level: 'silent' },
          auth: { argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 }, token_ttl: 0 },
        },
        overrides,
      ),
    });

    @Module({ imports: [CoreModule.forRoot(config), AuthCoreModule, ChatCoreModule] })
    class DomainModule {}

    context = await NestFactory.createApplicationContext(DomainModule, { logger: false });
    const auth = context.get(AuthService);
    const bus = context.get(InProcessEventBus);
    let counter = 0;
    const opened = context;
    return {
      config,
      auth,
      access: context.get(AccessService),
      guilds: context.get(GuildService),
      members: context.get(MemberService),
      bans: context.get(BanService),
      roles: context.get(RoleService),
      invites: context.get(InviteService),
      channels: context.get(ChannelService),
      messages: context.get(MessageService),
      relationships: context.get(RelationshipService),
      register: async (name) => {
        const username = `${name}_${++counter}`.toLowerCase().slice(0, 32);
        const session = await auth.register({
          username,
          email: `${username}@example.test`,
          password: 'password123',
        });
        return { id: session.user.id, username, token: session.token ?? '' };
      },
      settle: () => bus.flush(),
      close: async () => {
        await opened.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Runs `work` with the clock (`Date.now`) at `ms`: expiry is decided by the services' clock, not by waiting. */
export async function atTime<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const clock = jest.spyOn(Date, 'now').mockReturnValue(ms);
  try {
    return await work();
  } finally {
    clock.mockRestore();
  }
}
