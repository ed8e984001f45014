import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SnowflakeGenerator, type PublicUser, unknown } from '@parley/common';
import { STORAGE, type Storage, UniqueViolation, type UserRecord } from '@parley/storage';
import { AuthService } from './auth.service';
import { toPublicUser } from './serializers';

/** Discord's application flags for privileged gateway intents (what a guild can see its bots asked for). */
export const ApplicationFlag = {
  GATEWAY_PRESENCE: 1 << 12,
  GATEWAY_PRESENCE_LIMITED: 1 << 13,
  GATEWAY_GUILD_MEMBERS: 1 << 14,
  GATEWAY_GUILD_MEMBERS_LIMITED: 1 << 15,
  GATEWAY_MESSAGE_CONTENT: 1 << 18,
  GATEWAY_MESSAGE_CONTENT_LIMITED: 1 << 19,
} as const;
/** The flags an owner may set (the _LIMITED ones are Discord's unverified-app variants; both are honoured). */
export const SETTABLE_APPLICATION_FLAGS = Object.values(ApplicationFlag).reduce((a, b) => a | b, 0);

/** A bot's password hash: not an argon2 hash, so no password ever verifies against it. */
const NO_PASSWORD = '!bot';

export interface ApplicationDto {
  id: string;
  name: string;
  description: string;
  icon: null;
  flags: number;
  bot_public: false;
  bot_require_code_grant: false;
  owner?: PublicUser;
  bot: PublicUser;
  /** Only in the answers that issue it (create, reset). */
  token?: string;
}

/**
 * Bot applications, in Discord's shape: an application is its bot user (same id), owned by the person who
 * created it; its token is an ordinary Parley token of the bot user, sent as `Authorization: Bot <token>`.
 */
@Injectable()
export class ApplicationService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly ids: SnowflakeGenerator,
    private readonly auth: AuthService,
  ) {}

  async create(ownerId: string, input: { name: string; flags?: number }): Promise<ApplicationDto> {
    const owner = await this.auth.me(ownerId);
    if (owner.botOwnerId) throw unknown('application'); // bots do not own bots
    const id = this.ids.next();
    const base = usernameFor(input.name);
    let bot: UserRecord | null = null;
    // The name is the bot's username where it is free, else the name with a short suffix.
    for (let attempt = 0; attempt < 5 && !bot; attempt++) {
      const username = attempt === 0 ? base : `${base.slice(0, 27)}_${randomBytes(2).toString('hex')}`;
      const record: UserRecord = {
        id,
        username,
        email: `bot-${id}@bots.invalid`,
        displayName: input.name,
        avatar: null,
        passwordHash: NO_PASSWORD,
        createdAt: Date.now(),
        // A bot has no mailbox to confirm and signs in by token only.
        emailVerified: true,
        mfaSecret: null,
        mfaBackupCodes: [],
        botOwnerId: ownerId,
        appFlags: (input.flags ?? 0) & SETTABLE_APPLICATION_FLAGS,
      };
      try {
        await this.storage.users.create(record);
        bot = record;
      } catch (err) {
        if (!(err instanceof UniqueViolation)) throw err;
      }
    }
    if (!bot) throw unknown('application');
    const token = await this.auth.issuePermanentToken(bot.id);
    return { ...toApplication(bot, owner), token };
  }

  /** The applications a person owns (a bot owns none). */
  async list(ownerId: string): Promise<ApplicationDto[]> {
    const [owner, bots] = await Promise.all([
      this.storage.users.findById(ownerId),
      this.storage.users.listBots(ownerId),
    ]);
    return bots.map((bot) => toApplication(bot, owner));
  }

  /** The caller's own application (a bot asking about itself: discord.js' `client.application.fetch()`). */
  async current(botId: string): Promise<ApplicationDto> {
    const bot = await this.auth.me(botId);
    if (!bot.botOwnerId) throw unknown('application');
    const owner = await this.storage.users.findById(bot.botOwnerId);
    return toApplication(bot, owner);
  }

  async get(callerId: string, id: string): Promise<ApplicationDto> {
    const bot = await this.owned(callerId, id);
    return toApplication(bot, await this.storage.users.findById(callerId));
  }

  async update(callerId: string, id: string, patch: { flags?: number }): Promise<ApplicationDto> {
    const bot = await this.owned(callerId, id);
    if (patch.flags !== undefined) {
      bot.appFlags = patch.flags & SETTABLE_APPLICATION_FLAGS;
      await this.storage.users.update(id, { appFlags: bot.appFlags });
    }
    return toApplication(bot, await this.storage.users.findById(callerId));
  }

  /** A new token; every earlier one stops working and the bot's gateway sessions close (Discord's reset). */
  async resetToken(callerId: string, id: string): Promise<{ token: string }> {
    await this.owned(callerId, id);
    await this.auth.logoutAll(id);
    return { token: await this.auth.issuePermanentToken(id) };
  }

  private async owned(callerId: string, id: string): Promise<UserRecord> {
    const bot = await this.storage.users.findById(id);
    if (!bot || bot.botOwnerId !== callerId) throw unknown('application');
    return bot;
  }
}

function toApplication(bot: UserRecord, owner: UserRecord | null): ApplicationDto {
  return {
    id: bot.id,
    name: bot.displayName ?? bot.username,
    description: '',
    icon: null,
    flags: bot.appFlags ?? 0,
    bot_public: false,
    bot_require_code_grant: false,
    ...(owner ? { owner: toPublicUser(owner) } : {}),
    bot: toPublicUser(bot),
  };
}

/** A valid username from an application name: Parley's username alphabet, 2..32 characters. */
function usernameFor(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_.]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  return cleaned.length >= 2 ? cleaned : `bot_${cleaned}`.slice(0, 32);
}
