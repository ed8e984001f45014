import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { type DomainEvent, EVENT_BUS, type EventBus } from '@parley/bus';
import {
  BadRequestError,
  ChannelType,
  Permission,
  PermissionCalculator,
  SnowflakeGenerator,
  TtlCache,
  ValidationError,
  isSnowflake,
  unknown,
} from '@parley/common';
import { type AutoModRuleRecord, type MessageRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService, type ChannelAccess } from '../../access.service';
import { toMember, toMessage } from '../../serializers';
import { UserDirectory } from '../../users.directory';
import { AuditLogEntryPublisher } from '../audit-log-publisher';
import { AuditLogEvent, changesOf } from '../audit-log-events';
import { AuditLogService } from '../audit-log.service';
import { CompiledRuleSet, SpamTracker, type AutoModHit, actionsOf, compileRegex } from './engine';
import {
  ActionType,
  type AutoModRuleDto,
  LIMITS,
  type RuleAction,
  type RuleCreateInput,
  type RulePatchInput,
  type StoredRule,
  TriggerType,
  normalisedMetadata,
} from './rules';

/** Who hears of rules and their executions (Discord: MANAGE_GUILD). */
const CONFIGURE = Permission.MANAGE_GUILD | Permission.ADMINISTRATOR;
/** Discord's AUTO_MODERATION_ACTION message type (the alert). */
const MESSAGE_TYPE_AUTOMOD_ALERT = 24;
/** How long a compiled rule set serves without its change being heard (a lost invalidation). */
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX_GUILDS = 50_000;
const RULE_CHANGES = [
  'name',
  'enabled',
  'trigger_metadata',
  'actions',
  'exempt_roles',
  'exempt_channels',
] as const;

/** Unique user and role mentions written in a message (what MENTION_SPAM counts, whatever allowed_mentions says). */
export function uniqueMentions(content: string): number {
  const seen = new Set<string>();
  for (const m of content.matchAll(/<@([!&]?)(\d{1,20})>/g)) seen.add(`${m[1] === '&' ? 'r' : 'u'}${m[2]}`);
  return seen.size;
}

/**
 * AutoMod (Discord's auto moderation): the rules' routes and their enforcement on message create and edit.
 *
 * Enforcement reads nothing from storage per send: each process keeps every guild's rules compiled in memory
 * (loaded on the guild's first send, empty sets included), dropped when `AUTO_MODERATION_RULES_CHANGED` is
 * heard on the invalidation stream (every api process of the deployment, over NATS in microservices) and after
 * five minutes at most. Members who may MANAGE_GUILD (or administrators) are exempt, as on Discord.
 */
@Injectable()
export class AutoModService implements OnModuleDestroy {
  private readonly log = new Logger('AutoMod');
  private readonly compiled = new TtlCache<Promise<CompiledRuleSet>>(CACHE_MAX_GUILDS, CACHE_TTL_MS);
  private readonly spam = new SpamTracker();
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly audit: AuditLogService,
    private readonly publisher: AuditLogEntryPublisher,
  ) {
    this.unsubscribe = bus.subscribeInvalidations((event) => this.invalidate(event));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  private invalidate(event: DomainEvent): void {
    if (event.type !== 'AUTO_MODERATION_RULES_CHANGED' && event.type !== 'GUILD_DELETE') return;
    const data = event.data as { guild_id?: string; id?: string };
    const guildId = data.guild_id ?? data.id;
    if (guildId) this.compiled.delete(guildId);
  }

  // --- enforcement ---------------------------------------------------------------------------

  /**
   * Checks a message about to be created or edited (before anything is stored or delivered). Alerts and
   * timeouts run; a BLOCK_MESSAGE action throws 400 code 200000 so nothing of the message is kept.
   */
  async enforce(access: ChannelAccess, userId: string, content: string, edit: boolean): Promise<void> {
    const guild = access.guild;
    if (guild === null || content.length === 0) return;
    if (PermissionCalculator.has(guild.permissions, CONFIGURE)) return;
    const set = await this.ruleSet(guild.guild.id);
    if (set.size === 0) return;
    const hits = set.evaluate({
      content,
      authorId: userId,
      channelId: access.channel.id,
      roles: guild.member.roles,
      mentionCount: set.hasMentionRule ? uniqueMentions(content) : 0,
      repeated: set.hasSpamRule && !edit && this.spam.repeated(guild.guild.id, userId, content, Date.now()),
    });
    if (hits.length === 0) return;
    let blocked: string | null = null;
    for (const { hit, action } of actionsOf(hits)) {
      if (action.type === ActionType.BLOCK_MESSAGE) {
        blocked ??= action.metadata?.custom_message ?? '';
        this.executed(access, userId, content, hit, action, null);
        continue;
      }
      try {
        const alertId =
          action.type === ActionType.SEND_ALERT_MESSAGE
            ? await this.alert(access, userId, content, hit, action)
            : await this.timeout(access, userId, hit, action);
        this.executed(access, userId, content, hit, action, alertId);
      } catch (err) {
        this.log.warn(`AutoMod action ${action.type} of rule ${hit.rule.id} failed: ${String(err)}`);
      }
    }
    if (blocked !== null) {
      const err = new BadRequestError('Message was blocked by automatic moderation', 200000);
      if (blocked !== '') err.errors = { content: [{ code: 'AUTOMOD_BLOCKED', message: blocked }] };
      throw err;
    }
  }

  private ruleSet(guildId: string): Promise<CompiledRuleSet> {
    const cached = this.compiled.get(guildId);
    if (cached) return cached;
    const generation = this.compiled.generation;
    const loading = this.storage.autoModRules.list(guildId).then((records) => {
      try {
        return new CompiledRuleSet(records.map(toDto));
      } catch (err) {
        // A stored rule that no longer compiles must not stop every send of the guild.
        this.log.warn(`AutoMod rules of guild ${guildId} not compiled: ${String(err)}`);
        return new CompiledRuleSet(records.map(toDto).filter((r) => compiles(r)));
      }
    });
    this.compiled.set(guildId, loading, generation);
    loading.catch(() => this.compiled.delete(guildId));
    return loading;
  }

  /** Posts Discord's alert (type 24, an `auto_moderation_message` embed) in the action's channel. */
  private async alert(
    access: ChannelAccess,
    userId: string,
    content: string,
    hit: AutoModHit,
    action: RuleAction,
  ): Promise<string> {
    const channelId = action.metadata?.channel_id ?? access.channel.id;
    const channel =
      channelId === access.channel.id ? access.channel : await this.storage.channels.findById(channelId);
    if (!channel || channel.guildId !== access.channel.guildId) throw unknown('channel');
    const fields = [
      { name: 'rule_name', value: hit.rule.name, inline: true },
      { name: 'channel_id', value: access.channel.id, inline: true },
      ...(hit.matchedKeyword ? [{ name: 'keyword', value: hit.matchedKeyword, inline: true }] : []),
      ...(hit.matchedContent
        ? [{ name: 'keyword_matched_content', value: hit.matchedContent, inline: true }]
        : []),
    ];
    const message: MessageRecord = {
      id: this.ids.next(),
      channelId: channel.id,
      guildId: channel.guildId,
      authorId: userId,
      content: '',
      editedAt: null,
      attachments: [],
      mentions: [],
      mentionRoles: [],
      mentionEveryone: false,
      pinned: false,
      type: MESSAGE_TYPE_AUTOMOD_ALERT,
      nonce: null,
      referenceId: null,
      embeds: [{ type: 'auto_moderation_message', description: content.slice(0, 4096), fields }],
      flags: 0,
    };
    const [users] = await Promise.all([this.users.many([userId]), this.storage.messages.create(message)]);
    this.bus.publish({
      type: 'MESSAGE_CREATE',
      scope: { kind: 'channel', id: channel.id, guildId: channel.guildId },
      data: toMessage(message, users),
    });
    this.audit.record({
      guildId: channel.guildId!,
      userId: null,
      actionType: AuditLogEvent.AUTO_MODERATION_FLAG_TO_CHANNEL,
      targetId: userId,
      options: ruleOptions(hit, access.channel.id),
    });
    return message.id;
  }

  private async timeout(
    access: ChannelAccess,
    userId: string,
    hit: AutoModHit,
    action: RuleAction,
  ): Promise<null> {
    const guild = access.guild!;
    const seconds = action.metadata?.duration_seconds ?? 60;
    const until = Date.now() + seconds * 1000;
    await this.storage.members.update(guild.guild.id, userId, { communicationDisabledUntil: until });
    const user = await this.users.one(userId);
    if (user)
      this.bus.publish({
        type: 'GUILD_MEMBER_UPDATE',
        scope: { kind: 'guild', id: guild.guild.id },
        data: toMember({ ...guild.member, communicationDisabledUntil: until }, user),
      });
    this.audit.record({
      guildId: guild.guild.id,
      userId: null,
      actionType: AuditLogEvent.AUTO_MODERATION_USER_COMMUNICATION_DISABLED,
      targetId: userId,
      changes: [{ key: 'communication_disabled_until', new_value: new Date(until).toISOString() }],
      options: ruleOptions(hit, access.channel.id),
    });
    return null;
  }

  /** AUTO_MODERATION_ACTION_EXECUTION to MANAGE_GUILD holders; a block is also logged (143). */
  private executed(
    access: ChannelAccess,
    userId: string,
    content: string,
    hit: AutoModHit,
    action: RuleAction,
    alertId: string | null,
  ): void {
    const guildId = access.guild!.guild.id;
    if (action.type === ActionType.BLOCK_MESSAGE)
      this.audit.record({
        guildId,
        userId: null,
        actionType: AuditLogEvent.AUTO_MODERATION_BLOCK_MESSAGE,
        targetId: userId,
        options: ruleOptions(hit, access.channel.id),
      });
    const data = {
      guild_id: guildId,
      action,
      rule_id: hit.rule.id,
      rule_trigger_type: hit.rule.trigger_type,
      user_id: userId,
      channel_id: access.channel.id,
      ...(alertId ? { alert_system_message_id: alertId } : {}),
      content,
      matched_keyword: hit.matchedKeyword,
      matched_content: hit.matchedContent,
    };
    void this.publisher
      .toHolders(guildId, CONFIGURE, 'AUTO_MODERATION_ACTION_EXECUTION', data)
      .catch((err: unknown) => this.log.warn(`AutoMod execution not announced: ${String(err)}`));
  }

  // --- rules (MANAGE_GUILD) ------------------------------------------------------------------

  async list(guildId: string, userId: string): Promise<AutoModRuleDto[]> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    return (await this.storage.autoModRules.list(guildId)).map(toDto);
  }

  async get(guildId: string, userId: string, ruleId: string): Promise<AutoModRuleDto> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    return toDto(await this.find(guildId, ruleId));
  }

  async create(
    guildId: string,
    userId: string,
    input: RuleCreateInput,
    reason: string | null,
  ): Promise<AutoModRuleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const rule: StoredRule = {
      name: input.name,
      event_type: input.event_type,
      trigger_type: input.trigger_type,
      trigger_metadata: normalisedMetadata(input.trigger_type, input.trigger_metadata),
      actions: input.actions,
      enabled: input.enabled ?? false,
      exempt_roles: [...new Set(input.exempt_roles ?? [])],
      exempt_channels: [...new Set(input.exempt_channels ?? [])],
    };
    const existing = (await this.storage.autoModRules.list(guildId)).map(toDto);
    this.checkLimits(rule, existing);
    await this.validate(
      guildId,
      rule,
      access.roles.map((r) => r.id),
    );
    const record: AutoModRuleRecord = {
      guildId,
      id: this.ids.next(),
      creatorId: userId,
      rule: JSON.stringify(rule),
    };
    await this.storage.autoModRules.put(record);
    const dto = toDto(record);
    this.changed(guildId, 'AUTO_MODERATION_RULE_CREATE', dto);
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.AUTO_MODERATION_RULE_CREATE,
      targetId: dto.id,
      changes: changesOf(undefined, dto, [...RULE_CHANGES, 'trigger_type']),
      reason,
    });
    return dto;
  }

  async update(
    guildId: string,
    userId: string,
    ruleId: string,
    patch: RulePatchInput,
    reason: string | null,
  ): Promise<AutoModRuleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const before = toDto(await this.find(guildId, ruleId));
    const rule: StoredRule = {
      name: patch.name ?? before.name,
      event_type: patch.event_type ?? before.event_type,
      trigger_type: before.trigger_type,
      trigger_metadata:
        patch.trigger_metadata === undefined
          ? before.trigger_metadata
          : normalisedMetadata(before.trigger_type, patch.trigger_metadata),
      actions: patch.actions ?? before.actions,
      enabled: patch.enabled ?? before.enabled,
      exempt_roles: patch.exempt_roles ? [...new Set(patch.exempt_roles)] : before.exempt_roles,
      exempt_channels: patch.exempt_channels ? [...new Set(patch.exempt_channels)] : before.exempt_channels,
    };
    await this.validate(
      guildId,
      rule,
      access.roles.map((r) => r.id),
    );
    const record: AutoModRuleRecord = {
      guildId,
      id: ruleId,
      creatorId: before.creator_id,
      rule: JSON.stringify(rule),
    };
    await this.storage.autoModRules.put(record);
    const dto = toDto(record);
    this.changed(guildId, 'AUTO_MODERATION_RULE_UPDATE', dto);
    const changes = changesOf(before, dto, [...RULE_CHANGES]);
    if (changes.length > 0)
      this.audit.record({
        guildId,
        userId,
        actionType: AuditLogEvent.AUTO_MODERATION_RULE_UPDATE,
        targetId: ruleId,
        changes,
        reason,
      });
    return dto;
  }

  async delete(guildId: string, userId: string, ruleId: string, reason: string | null): Promise<void> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const before = toDto(await this.find(guildId, ruleId));
    await this.storage.autoModRules.delete(guildId, ruleId);
    this.changed(guildId, 'AUTO_MODERATION_RULE_DELETE', before);
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.AUTO_MODERATION_RULE_DELETE,
      targetId: ruleId,
      changes: changesOf(before, undefined, ['name']),
      reason,
    });
  }

  private async find(guildId: string, ruleId: string): Promise<AutoModRuleRecord> {
    const record = isSnowflake(ruleId) ? await this.storage.autoModRules.find(guildId, ruleId) : null;
    if (!record) throw unknown('auto_moderation_rule');
    return record;
  }

  /** Every process drops its compiled copy; MANAGE_GUILD holders get the rule event. */
  private changed(
    guildId: string,
    type: 'AUTO_MODERATION_RULE_CREATE' | 'AUTO_MODERATION_RULE_UPDATE' | 'AUTO_MODERATION_RULE_DELETE',
    dto: AutoModRuleDto,
  ): void {
    this.compiled.delete(guildId);
    this.bus.publish({
      type: 'AUTO_MODERATION_RULES_CHANGED',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId },
    });
    void this.publisher
      .toHolders(guildId, CONFIGURE, type, dto)
      .catch((err: unknown) => this.log.warn(`${type} not announced: ${String(err)}`));
  }

  private checkLimits(rule: StoredRule, existing: AutoModRuleDto[]): void {
    const same = existing.filter((r) => r.trigger_type === rule.trigger_type).length;
    const cap =
      rule.trigger_type === TriggerType.KEYWORD
        ? LIMITS.keywordRules
        : rule.trigger_type === TriggerType.SPAM
          ? LIMITS.spamRules
          : LIMITS.mentionSpamRules;
    // Discord: 30035 "Maximum number of rules of this trigger type reached".
    if (same >= cap)
      throw new BadRequestError(`Maximum number of rules of this trigger type reached (${cap})`, 30035);
  }

  private async validate(guildId: string, rule: StoredRule, roleIds: string[]): Promise<void> {
    const t = rule.trigger_type;
    if (t !== TriggerType.KEYWORD && t !== TriggerType.SPAM && t !== TriggerType.MENTION_SPAM)
      throw ValidationError.field(
        'trigger_type',
        'BASE_TYPE_CHOICES',
        'Trigger type must be 1, 3 or 5 (presets are not supported)',
      );
    if (t === TriggerType.KEYWORD) {
      const m = rule.trigger_metadata;
      if ((m.keyword_filter ?? []).length === 0 && (m.regex_patterns ?? []).length === 0)
        throw ValidationError.field(
          'trigger_metadata',
          'BASE_TYPE_REQUIRED',
          'A keyword rule needs keyword_filter or regex_patterns',
        );
      (m.regex_patterns ?? []).forEach((p, i) => {
        try {
          compileRegex(p);
        } catch (err) {
          throw ValidationError.field(
            `trigger_metadata.regex_patterns.${i}`,
            'REGEX_INVALID',
            String((err as Error).message),
          );
        }
      });
    }
    if (t === TriggerType.MENTION_SPAM && !(rule.trigger_metadata.mention_total_limit! > 0))
      throw ValidationError.field(
        'trigger_metadata.mention_total_limit',
        'BASE_TYPE_REQUIRED',
        'mention_total_limit must be 1-50',
      );
    for (const [i, action] of rule.actions.entries()) {
      if (action.type === ActionType.TIMEOUT) {
        if (t === TriggerType.SPAM)
          throw ValidationError.field(
            `actions.${i}.type`,
            'BASE_TYPE_CHOICES',
            'TIMEOUT is for keyword and mention spam rules',
          );
        if (action.metadata?.duration_seconds === undefined)
          throw ValidationError.field(
            `actions.${i}.metadata.duration_seconds`,
            'BASE_TYPE_REQUIRED',
            'duration_seconds is required',
          );
      }
      if (action.type === ActionType.SEND_ALERT_MESSAGE && action.metadata?.channel_id !== undefined) {
        const channel = await this.storage.channels.findById(action.metadata.channel_id);
        if (!channel || channel.guildId !== guildId || channel.type !== ChannelType.TEXT)
          throw ValidationError.field(
            `actions.${i}.metadata.channel_id`,
            'CHANNEL_INVALID',
            'Not a text channel of this guild',
          );
      }
    }
    const roles = new Set(roleIds);
    for (const id of rule.exempt_roles)
      if (!roles.has(id)) throw ValidationError.field('exempt_roles', 'ROLE_INVALID', `Unknown role ${id}`);
    for (const id of rule.exempt_channels) {
      const channel = await this.storage.channels.findById(id);
      if (!channel || channel.guildId !== guildId)
        throw ValidationError.field('exempt_channels', 'CHANNEL_INVALID', `Unknown channel ${id}`);
    }
  }
}

function toDto(record: AutoModRuleRecord): AutoModRuleDto {
  const rule = JSON.parse(record.rule) as StoredRule;
  return { id: record.id, guild_id: record.guildId, creator_id: record.creatorId, ...rule };
}

function compiles(rule: AutoModRuleDto): boolean {
  try {
    new CompiledRuleSet([rule]);
    return true;
  } catch {
    return false;
  }
}

/** Discord's options of AutoMod audit log entries. */
function ruleOptions(hit: AutoModHit, channelId: string): Record<string, string> {
  return {
    auto_moderation_rule_name: hit.rule.name,
    auto_moderation_rule_trigger_type: String(hit.rule.trigger_type),
    channel_id: channelId,
  };
}
