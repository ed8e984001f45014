import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ChannelType,
  ForbiddenError,
  Permission,
  PermissionCalculator,
  ServiceUnavailableError,
  UnauthorizedError,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { AccessService } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type Storage } from '@parley/storage';
import { lazy } from '@parley/common';
import type * as LiveKit from 'livekit-server-sdk';
import type { WebhookEvent, WebhookReceiver } from 'livekit-server-sdk';

/** The LiveKit SDK, loaded when voice is configured. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const livekit = lazy(() => require('livekit-server-sdk') as typeof LiveKit);

/** How long a join token may be used to connect; the LiveKit session itself outlives it. */
const TOKEN_TTL_SECONDS = 10 * 60;

export interface VoiceJoinDto {
  url: string;
  token: string;
}

export interface VoiceStateDto {
  guild_id: string | null;
  channel_id: string | null;
  user_id: string;
  session_id: string;
  deaf: boolean;
  mute: boolean;
  self_deaf: boolean;
  self_mute: boolean;
  suppress: boolean;
}

@Injectable()
export class VoiceService {
  private readonly receiver: WebhookReceiver | null;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly access: AccessService,
    private readonly log: AppLogger,
  ) {
    const { api_key, api_secret } = config.voice.livekit;
    this.receiver = api_key && api_secret ? new (livekit().WebhookReceiver)(api_key, api_secret) : null;
  }

  /** A LiveKit token for this voice channel: CONNECT to join at all, SPEAK to publish audio. */
  async join(channelId: string, userId: string): Promise<VoiceJoinDto> {
    const { url, api_key, api_secret } = this.config.voice.livekit;
    const access = await this.access.channel(channelId, userId);
    if (access.channel.type !== ChannelType.VOICE) throw new BadRequestError('Not a voice channel', 50024);
    if (!PermissionCalculator.has(access.permissions, Permission.CONNECT))
      throw new ForbiddenError('Missing the CONNECT permission');
    if (!url || !api_key || !api_secret)
      throw new ServiceUnavailableError('Voice is not configured on this instance (voice.livekit)');
    const speak = PermissionCalculator.has(access.permissions, Permission.SPEAK);
    const user = await this.storage.users.findById(userId);
    const token = new (livekit().AccessToken)(api_key, api_secret, {
      identity: userId,
      name: user?.displayName ?? user?.username ?? userId,
      ttl: TOKEN_TTL_SECONDS,
      metadata: JSON.stringify({ guild_id: access.channel.guildId }),
    });
    token.addGrant({
      room: access.channel.id,
      roomJoin: true,
      canSubscribe: true,
      canPublish: speak,
      canPublishData: speak,
      canUpdateOwnMetadata: false,
    });
    return { url, token: await token.toJwt() };
  }

  /**
   * A LiveKit webhook: the Authorization header is a JWT signed with the API secret whose sha256
   * claim is the body's hash; anything else is a 401. Participant joins and leaves of rooms that are
   * voice channels become VOICE_STATE_UPDATE dispatches; other events are acknowledged and ignored.
   */
  async webhook(body: string, authorization: string | undefined): Promise<void> {
    // Voice off: the endpoint does not exist here. Not a failure worth an error line (and an id) per call.
    if (!this.receiver) throw unknown('route');
    let event: WebhookEvent;
    try {
      event = await this.receiver.receive(body, authorization);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'refused a LiveKit webhook');
      throw new UnauthorizedError('Bad webhook signature');
    }
    if (event.event !== 'participant_joined' && event.event !== 'participant_left') return;
    const roomName = event.room?.name ?? '';
    const participant = event.participant;
    if (!participant || !/^[0-9]{1,20}$/.test(roomName)) return;
    const channel = await this.storage.channels.findById(roomName);
    if (!channel || channel.type !== ChannelType.VOICE) return;
    const joined = event.event === 'participant_joined';
    const canPublish = participant.permission?.canPublish ?? false;
    const state: VoiceStateDto = {
      guild_id: channel.guildId,
      channel_id: joined ? channel.id : null,
      user_id: participant.identity,
      session_id: participant.sid,
      deaf: false,
      mute: !canPublish,
      self_deaf: false,
      self_mute: false,
      suppress: !canPublish,
    };
    this.bus.publish({
      type: 'VOICE_STATE_UPDATE',
      scope: { kind: 'channel', id: channel.id, guildId: channel.guildId },
      data: state,
    });
  }
}
