import { createHash } from 'node:crypto';
import { ChannelType, Permission } from '@parley/common';
import type { DomainEvent } from '@parley/bus';
import type { ChannelAccess } from '@parley/chat';
import type { ParleyConfig } from '@parley/config';
import type { ChannelRecord } from '@parley/storage';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { VoiceService } from './voice.service';

const KEY = 'APIparleytest';
const SECRET = 'livekit-test-secret-that-is-long-enough-0123';

const voiceChannel: ChannelRecord = {
  id: '1234567890123456789',
  type: ChannelType.VOICE,
  guildId: '1111111111111111111',
  name: 'lounge',
  topic: null,
  parentId: null,
  position: 0,
  recipients: [],
  overwrites: [],
};

function service(permissions: bigint, channel: ChannelRecord = voiceChannel, configured = true) {
  const published: DomainEvent[] = [];
  const config = {
    voice: {
      livekit: configured
        ? { url: 'wss://voice.example.test', api_key: KEY, api_secret: SECRET }
        : { url: '', api_key: '', api_secret: '' },
    },
  } as ParleyConfig;
  const storage = {
    users: { findById: () => Promise.resolve({ id: '42', username: 'alice', displayName: null }) },
    channels: { findById: (id: string) => Promise.resolve(id === channel.id ? channel : null) },
  };
  const access = {
    channel: () => Promise.resolve({ channel, guild: null, permissions } as unknown as ChannelAccess),
  };
  const bus = { publish: (e: DomainEvent) => published.push(e) };
  const log = { warn: () => undefined };
  const voice = new VoiceService(storage as never, bus as never, config, access as never, log as never);
  return { voice, published };
}

describe('VoiceService.join', () => {
  const verifier = new TokenVerifier(KEY, SECRET);

  it('mints a token for room = channel, identity = user, verifiable with the configured secret', async () => {
    const { voice } = service(Permission.VIEW_CHANNEL | Permission.CONNECT | Permission.SPEAK);
    const { url, token } = await voice.join(voiceChannel.id, '42');
    expect(url).toBe('wss://voice.example.test');
    const claims = await verifier.verify(token);
    expect(claims.sub).toBe('42');
    expect(claims.name).toBe('alice');
    expect(claims.video).toMatchObject({
      room: voiceChannel.id,
      roomJoin: true,
      canSubscribe: true,
      canPublish: true,
    });
    await expect(
      new TokenVerifier(KEY, 'another-secret-entirely-0123456789abcd').verify(token),
    ).rejects.toThrow();
  });

  it('grants no publishing without SPEAK', async () => {
    const { voice } = service(Permission.VIEW_CHANNEL | Permission.CONNECT);
    const claims = await verifier.verify((await voice.join(voiceChannel.id, '42')).token);
    expect(claims.video).toMatchObject({ roomJoin: true, canPublish: false, canPublishData: false });
  });

  it('refuses without CONNECT, outside voice channels and when LiveKit is not configured', async () => {
    await expect(
      service(Permission.VIEW_CHANNEL | Permission.SPEAK).voice.join(voiceChannel.id, '42'),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      service(Permission.VIEW_CHANNEL | Permission.CONNECT, {
        ...voiceChannel,
        type: ChannelType.TEXT,
      }).voice.join(voiceChannel.id, '42'),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      service(Permission.VIEW_CHANNEL | Permission.CONNECT, voiceChannel, false).voice.join(
        voiceChannel.id,
        '42',
      ),
    ).rejects.toMatchObject({ status: 503 });
  });
});

describe('VoiceService.webhook', () => {
  /** Signs a body the way the LiveKit server does: a JWT whose sha256 claim is the body's hash. */
  async function signed(body: string, secret = SECRET): Promise<string> {
    const token = new AccessToken(KEY, secret);
    token.sha256 = createHash('sha256').update(body).digest('base64');
    return token.toJwt();
  }
  const event = (name: string) =>
    JSON.stringify({
      event: name,
      id: 'EV_1',
      createdAt: '1700000000',
      room: { sid: 'RM_1', name: voiceChannel.id },
      participant: { sid: 'PA_1', identity: '42', permission: { canPublish: true, canSubscribe: true } },
    });

  it('turns a signed participant_joined and participant_left into VOICE_STATE_UPDATE on the channel', async () => {
    const { voice, published } = service(0n);
    await voice.webhook(event('participant_joined'), await signed(event('participant_joined')));
    await voice.webhook(event('participant_left'), await signed(event('participant_left')));
    expect(published).toEqual([
      {
        type: 'VOICE_STATE_UPDATE',
        scope: { kind: 'channel', id: voiceChannel.id, guildId: voiceChannel.guildId },
        data: expect.objectContaining({
          channel_id: voiceChannel.id,
          user_id: '42',
          session_id: 'PA_1',
          mute: false,
        }),
      },
      {
        type: 'VOICE_STATE_UPDATE',
        scope: { kind: 'channel', id: voiceChannel.id, guildId: voiceChannel.guildId },
        data: expect.objectContaining({ channel_id: null, user_id: '42', guild_id: voiceChannel.guildId }),
      },
    ]);
  });

  it('answers 401 to a bad, foreign or missing signature and to a body that was changed', async () => {
    const { voice, published } = service(0n);
    const body = event('participant_joined');
    await expect(voice.webhook(body, undefined)).rejects.toMatchObject({ status: 401 });
    await expect(voice.webhook(body, 'not-a-jwt')).rejects.toMatchObject({ status: 401 });
    await expect(
      voice.webhook(body, await signed(body, 'wrong-secret-0123456789abcdef0123')),
    ).rejects.toMatchObject({
      status: 401,
    });
    await expect(voice.webhook(event('participant_left'), await signed(body))).rejects.toMatchObject({
      status: 401,
    });
    expect(published).toEqual([]);
  });

  it('ignores other events and rooms that are not voice channels', async () => {
    const { voice, published } = service(0n);
    const roomStarted = JSON.stringify({ event: 'room_started', room: { name: voiceChannel.id } });
    await voice.webhook(roomStarted, await signed(roomStarted));
    const elsewhere = event('participant_joined').replace(voiceChannel.id, '999');
    await voice.webhook(elsewhere, await signed(elsewhere));
    expect(published).toEqual([]);
  });
});
