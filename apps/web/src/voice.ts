import type { Participant, RemoteTrack, Room } from 'livekit-client';
import { api } from './actions';
import { ApiError } from './api';
import { getState, update, voiceStateUpdated, type VoiceSession } from './store';

/**
 * Voice channels: the server mints a LiveKit token (POST /channels/:id/voice/join, libs/voice) and the browser
 * talks to LiveKit with livekit-client, LiveKit's own maintained SDK, loaded only when someone joins (it is large
 * and most sessions never use voice). Who is in a channel comes from VOICE_STATE_UPDATE (the server turns
 * LiveKit's webhooks into them) and, while connected, from the room itself.
 */
let room: Room | null = null;
const audio = new Map<string, HTMLMediaElement>();

function setSession(fn: (v: VoiceSession | null) => VoiceSession | null): void {
  update((s) => {
    const next = fn(s.voiceSession);
    return next === s.voiceSession ? s : { ...s, voiceSession: next };
  });
}

/** Marks someone as in (or out of) a channel from what the room says, in the dispatch's own shape. */
function present(p: Participant, channelId: string | null, guildId: string | undefined): void {
  update((s) =>
    voiceStateUpdated(s, {
      guild_id: guildId ?? null,
      channel_id: channelId,
      user_id: p.identity,
      session_id: p.sid,
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: !p.isMicrophoneEnabled,
      suppress: false,
    }),
  );
}

function failure(err: unknown): string {
  if (err instanceof ApiError && err.status === 503)
    return 'Voice is not set up on this server: an administrator has to configure LiveKit (voice.livekit).';
  if (err instanceof ApiError && err.status === 403) return 'You may not join this voice channel.';
  if (err instanceof ApiError) return err.message;
  return `Could not reach the voice server: ${err instanceof Error ? err.message : String(err)}`;
}

export async function joinVoice(channelId: string, guildId: string | undefined): Promise<void> {
  if (getState().voiceSession?.channelId === channelId && room) return;
  await leaveVoice();
  setSession(() => ({
    channelId,
    guildId,
    status: 'connecting',
    muted: false,
    deafened: false,
    message: null,
  }));
  try {
    const { url, token } = await api.voiceJoin(channelId);
    const { Room, RoomEvent, Track } = await import('livekit-client');
    const r = new Room({ adaptiveStream: true, dynacast: true });
    room = r;
    r.on(RoomEvent.ParticipantConnected, (p) => present(p, channelId, guildId));
    r.on(RoomEvent.ParticipantDisconnected, (p) => present(p, null, guildId));
    r.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
      if (track.kind !== Track.Kind.Audio) return;
      const el = track.attach();
      el.muted = getState().voiceSession?.deafened ?? false;
      audio.set(track.sid ?? String(audio.size), el);
      document.body.append(el);
    });
    r.on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
      for (const el of track.detach()) el.remove();
      if (track.sid) audio.delete(track.sid);
    });
    r.on(RoomEvent.Disconnected, () => {
      if (room !== r) return;
      room = null;
      setSession((v) => v && { ...v, status: 'failed', message: 'Disconnected from voice.' });
    });
    await r.connect(url, token);
    present(r.localParticipant, channelId, guildId);
    for (const p of r.remoteParticipants.values()) present(p, channelId, guildId);
    let message: string | null = null;
    try {
      await r.localParticipant.setMicrophoneEnabled(true);
    } catch {
      message = 'No microphone available: listening only.';
    }
    setSession((v) => v && { ...v, status: 'connected', muted: message !== null, message });
  } catch (err) {
    room?.disconnect().catch(() => undefined);
    room = null;
    setSession((v) => v && { ...v, status: 'failed', message: failure(err) });
  }
}

export async function leaveVoice(): Promise<void> {
  const r = room;
  room = null;
  for (const el of audio.values()) el.remove();
  audio.clear();
  const me = getState().me;
  if (r) {
    if (me) present(r.localParticipant, null, undefined);
    await r.disconnect().catch(() => undefined);
  }
  setSession(() => null);
}

export async function setMuted(muted: boolean): Promise<void> {
  setSession((v) => v && { ...v, muted });
  await room?.localParticipant.setMicrophoneEnabled(!muted).catch(() => undefined);
}

/** Deafened: hear nobody, and (as on Discord) be muted too; undeafening restores the mute as it was. */
export async function setDeafened(deafened: boolean): Promise<void> {
  for (const el of audio.values()) el.muted = deafened;
  const before = getState().voiceSession;
  setSession((v) => v && { ...v, deafened });
  if (deafened) await room?.localParticipant.setMicrophoneEnabled(false).catch(() => undefined);
  else if (before && !before.muted)
    await room?.localParticipant.setMicrophoneEnabled(true).catch(() => undefined);
}

export function dismissVoiceError(): void {
  setSession((v) => (v?.status === 'failed' ? null : v));
}
