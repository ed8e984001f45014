import { z } from 'zod';

/** Discord's AutoModerationRuleTriggerType values Parley evaluates. */
export const TriggerType = { KEYWORD: 1, SPAM: 3, KEYWORD_PRESET: 4, MENTION_SPAM: 5 } as const;
/** Discord's AutoModerationActionType. */
export const ActionType = { BLOCK_MESSAGE: 1, SEND_ALERT_MESSAGE: 2, TIMEOUT: 3 } as const;
/** Discord's AutoModerationRuleEventType: only MESSAGE_SEND (1). */
export const EVENT_MESSAGE_SEND = 1;

/** Discord's limits (the "Trigger Metadata Field Limits" table and the per-guild rule caps). */
export const LIMITS = {
  keywordRules: 6,
  spamRules: 1,
  mentionSpamRules: 1,
  keywords: 1000,
  keywordLength: 60,
  regexes: 10,
  regexLength: 260,
  allowList: 100,
  allowListLength: 60,
  mentionTotal: 50,
  exemptRoles: 20,
  exemptChannels: 50,
  customMessage: 150,
  timeoutSeconds: 2_419_200,
  name: 100,
} as const;

const snowflake = z.string().regex(/^\d{1,20}$/, 'must be a snowflake');

const triggerMetadata = z.strictObject({
  keyword_filter: z.array(z.string().min(1).max(LIMITS.keywordLength)).max(LIMITS.keywords).optional(),
  regex_patterns: z.array(z.string().min(1).max(LIMITS.regexLength)).max(LIMITS.regexes).optional(),
  presets: z.array(z.number().int()).optional(),
  allow_list: z.array(z.string().min(1).max(LIMITS.allowListLength)).max(LIMITS.allowList).optional(),
  mention_total_limit: z.number().int().min(0).max(LIMITS.mentionTotal).optional(),
  mention_raid_protection_enabled: z.boolean().optional(),
});

const action = z.strictObject({
  type: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  metadata: z
    .strictObject({
      channel_id: snowflake.optional(),
      duration_seconds: z.number().int().min(1).max(LIMITS.timeoutSeconds).optional(),
      custom_message: z.string().max(LIMITS.customMessage).optional(),
    })
    .optional(),
});

/** `POST /guilds/:id/auto-moderation/rules` (Discord's "Create Auto Moderation Rule" JSON params). */
export const ruleCreateBody = z.strictObject({
  name: z.string().trim().min(1).max(LIMITS.name),
  event_type: z.literal(EVENT_MESSAGE_SEND),
  trigger_type: z.number().int(),
  trigger_metadata: triggerMetadata.optional(),
  actions: z.array(action).min(1).max(5),
  enabled: z.boolean().optional(),
  exempt_roles: z.array(snowflake).max(LIMITS.exemptRoles).optional(),
  exempt_channels: z.array(snowflake).max(LIMITS.exemptChannels).optional(),
});

/** `PATCH .../rules/:rule_id`: every field optional, the trigger type fixed at creation (as on Discord). */
export const rulePatchBody = ruleCreateBody.omit({ trigger_type: true }).partial();

export type RuleCreateInput = z.infer<typeof ruleCreateBody>;
export type RulePatchInput = z.infer<typeof rulePatchBody>;
export type RuleAction = z.infer<typeof action>;
export type TriggerMetadata = z.infer<typeof triggerMetadata>;

/** What is stored (as JSON) of a rule: everything but its id, guild and creator. */
export interface StoredRule {
  name: string;
  event_type: number;
  trigger_type: number;
  trigger_metadata: TriggerMetadata;
  actions: RuleAction[];
  enabled: boolean;
  exempt_roles: string[];
  exempt_channels: string[];
}

/** Discord's AutoModerationRule object. */
export interface AutoModRuleDto extends StoredRule {
  id: string;
  guild_id: string;
  creator_id: string;
}

/** The trigger metadata Discord serves for each trigger type (absent fields filled with their defaults). */
export function normalisedMetadata(triggerType: number, m: TriggerMetadata = {}): TriggerMetadata {
  switch (triggerType) {
    case TriggerType.KEYWORD:
      return {
        keyword_filter: m.keyword_filter ?? [],
        regex_patterns: m.regex_patterns ?? [],
        allow_list: m.allow_list ?? [],
      };
    case TriggerType.MENTION_SPAM:
      return {
        mention_total_limit: m.mention_total_limit ?? 0,
        mention_raid_protection_enabled: m.mention_raid_protection_enabled ?? false,
      };
    default:
      return {};
  }
}
