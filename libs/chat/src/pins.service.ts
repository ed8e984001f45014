import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ForbiddenError,
  type MessageDto,
  Permission,
  PermissionCalculator,
  SnowflakeGenerator,
  isSnowflake,
  isoTime,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { type MessageRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService, type ChannelAccess } from './access.service';
import { MessageService } from './messages.service';

/** Discord's limit of pins per channel, and the error it answers past it. */
export const MAX_PINS = 50;
const MAX_PINS_CODE = 30003;
/** Discord's CHANNEL_PINNED_MESSAGE system message. */
const MESSAGE_TYPE_PINNED = 6;

export interface PinPage {
  items: { pinned_at: string; message: MessageDto }[];
  has_more: boolean;
}

/**
 * Pins, in both of Discord's forms (`/pins` and `/messages/pins`): PIN_MESSAGES or MANAGE_MESSAGES to pin
 * and unpin, at most 50 per channel. A pin announces itself as Discord does: MESSAGE_UPDATE with `pinned`,
 * CHANNEL_PINS_UPDATE, and a type 6 system message pointing at the pinned message.
 */
@Injectable()
export class PinService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly messages: MessageService,
  ) {}

  async pin(channelId: string, userId: string, messageId: string): Promise<void> {
    const access = await this.mayPin(channelId, userId);
    const message = await this.find(access, messageId);
    const pins = await this.storage.pins.list(access.channel.id);
    if (pins.some((p) => p.messageId === message.id)) return; // already pinned: nothing changes
    if (pins.length >= MAX_PINS)
      throw new BadRequestError(`Maximum number of pins reached (${MAX_PINS})`, MAX_PINS_CODE);
    const pinnedAt = Date.now();
    await this.storage.pins.add({ channelId: access.channel.id, messageId: message.id, pinnedAt });
    await this.storage.messages.update(access.channel.id, message.id, { pinned: true });
    await this.announce(access, { ...message, pinned: true }, userId, pinnedAt);
    await this.systemMessage(access, userId, message.id);
  }

  async unpin(channelId: string, userId: string, messageId: string): Promise<void> {
    const access = await this.mayPin(channelId, userId);
    const message = await this.find(access, messageId);
    await this.storage.pins.remove(access.channel.id, message.id);
    if (!message.pinned) return;
    await this.storage.messages.update(access.channel.id, message.id, { pinned: false });
    const [latest] = await this.storage.pins.list(access.channel.id);
    await this.announce(access, { ...message, pinned: false }, userId, latest?.pinnedAt ?? null);
  }

  /** Discord's older `GET /channels/:id/pins`: the pinned messages, newest pin first. */
  async list(channelId: string, userId: string): Promise<MessageDto[]> {
    const page = await this.page(channelId, userId, { limit: MAX_PINS });
    return page.items.map((i) => i.message);
  }

  /** Discord's `GET /channels/:id/messages/pins?before=&limit=`: pins pinned before a time, newest first. */
  async page(channelId: string, userId: string, query: { before?: number; limit: number }): Promise<PinPage> {
    const access = await this.access.channel(channelId, userId);
    // Without READ_MESSAGE_HISTORY Discord answers an empty list rather than 403.
    if (!PermissionCalculator.has(access.permissions, Permission.READ_MESSAGE_HISTORY))
      return { items: [], has_more: false };
    const pins = (await this.storage.pins.list(access.channel.id)).filter(
      (p) => query.before === undefined || p.pinnedAt < query.before,
    );
    const chosen = pins.slice(0, query.limit);
    const found = await this.storage.messages.findMany(
      access.channel.id,
      chosen.map((p) => p.messageId),
    );
    const byId = new Map(found.map((m) => [m.id, m]));
    // A pin whose message was deleted meanwhile is left out (its row goes with the delete).
    const kept = chosen.filter((p) => byId.has(p.messageId));
    const dtos = await this.messages.renderIn(
      access,
      kept.map((p) => byId.get(p.messageId)!),
      userId,
    );
    return {
      items: kept.map((p, i) => ({ pinned_at: isoTime(p.pinnedAt), message: dtos[i] })),
      has_more: pins.length > chosen.length,
    };
  }

  private async mayPin(channelId: string, userId: string): Promise<ChannelAccess> {
    const access = await this.access.channel(channelId, userId);
    const bits = access.permissions;
    if (
      !PermissionCalculator.has(bits, Permission.PIN_MESSAGES) &&
      !PermissionCalculator.has(bits, Permission.MANAGE_MESSAGES)
    )
      throw new ForbiddenError();
    return access;
  }

  private async find(access: ChannelAccess, messageId: string): Promise<MessageRecord> {
    const message = isSnowflake(messageId)
      ? await this.storage.messages.find(access.channel.id, messageId)
      : null;
    if (!message) throw unknown('message');
    return message;
  }

  /** MESSAGE_UPDATE with the new `pinned`, then CHANNEL_PINS_UPDATE with the newest pin's time. */
  private async announce(
    access: ChannelAccess,
    message: MessageRecord,
    viewerId: string,
    lastPinAt: number | null,
  ): Promise<void> {
    const { channel } = access;
    const scope = { kind: 'channel' as const, id: channel.id, guildId: channel.guildId };
    const [dto] = await this.messages.renderIn(access, [message], viewerId);
    this.bus.publish({ type: 'MESSAGE_UPDATE', scope, data: { ...dto, reactions: undefined } });
    this.bus.publish({
      type: 'CHANNEL_PINS_UPDATE',
      scope,
      data: {
        ...(channel.guildId ? { guild_id: channel.guildId } : {}),
        channel_id: channel.id,
        last_pin_timestamp: lastPinAt === null ? null : isoTime(lastPinAt),
      },
    });
  }

  /** Discord's "X pinned a message" (type 6): empty content, message_reference to the pinned message. */
  private async systemMessage(access: ChannelAccess, userId: string, pinnedId: string): Promise<void> {
    const record: MessageRecord = {
      id: this.ids.next(),
      channelId: access.channel.id,
      guildId: access.channel.guildId,
      authorId: userId,
      content: '',
      editedAt: null,
      attachments: [],
      mentions: [],
      mentionRoles: [],
      mentionEveryone: false,
      pinned: false,
      type: MESSAGE_TYPE_PINNED,
      nonce: null,
      referenceId: pinnedId,
      embeds: [],
      flags: 0,
    };
    await this.storage.messages.create(record);
    const [dto] = await this.messages.renderIn(access, [record], userId);
    this.bus.publish({
      type: 'MESSAGE_CREATE',
      scope: { kind: 'channel', id: access.channel.id, guildId: access.channel.guildId },
      data: dto,
    });
  }
}
