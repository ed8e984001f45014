import type { ChannelDto } from '@parley/common/protocol';
import { useStore } from '../store';
import { displayName } from '../text';
import { dismissVoiceError, joinVoice, leaveVoice, setDeafened, setMuted } from '../voice';

/** Who is in a voice channel (from VOICE_STATE_UPDATE), by name. */
function Occupants({ channelId }: { channelId: string }) {
  const people = useStore((s) => s.voice[channelId]);
  const users = useStore((s) => s.users);
  const members = useStore((s) => s.members);
  if (!people) return null;
  const names = Object.values(people).map((v) => {
    const member = v.guild_id ? members[v.guild_id]?.[v.user_id] : undefined;
    const user = users[v.user_id] ?? member?.user;
    return { id: v.user_id, name: user ? displayName(user, member?.nick) : 'Someone', muted: v.self_mute };
  });
  return (
    <ul className="voice-occupants" aria-label="In the voice channel">
      {names.map((p) => (
        <li key={p.id}>
          {p.name}
          {p.muted && <span className="muted"> (muted)</span>}
        </li>
      ))}
    </ul>
  );
}

/** A voice channel in the channel list: joins on click, lists who is in it. */
export function VoiceChannelItem({ channel }: { channel: ChannelDto }) {
  const here = useStore(
    (s) => s.voiceSession?.channelId === channel.id && s.voiceSession.status !== 'failed',
  );
  return (
    <li>
      <button
        type="button"
        className={`channel voice-channel${here ? ' current' : ''}`}
        aria-label={`Join voice channel ${channel.name ?? ''}`}
        aria-pressed={here}
        onClick={() => void joinVoice(channel.id, channel.guild_id)}
      >
        <span aria-hidden="true">🔊</span>
        <span className="channel-name">{channel.name}</span>
      </button>
      <Occupants channelId={channel.id} />
    </li>
  );
}

/** Your voice connection: where, its state, mute, deafen, leave; or why joining failed. */
export function VoicePanel() {
  const v = useStore((s) => s.voiceSession);
  const name = useStore((s) => {
    const id = s.voiceSession?.channelId;
    const guild = s.voiceSession?.guildId ? s.guilds[s.voiceSession.guildId] : undefined;
    return guild?.channels.find((c) => c.id === id)?.name ?? '';
  });
  if (!v) return null;
  if (v.status === 'failed')
    return (
      <section className="voice-panel voice-failed" aria-label="Voice">
        <p role="alert">{v.message}</p>
        <button type="button" className="link" onClick={dismissVoiceError}>
          Dismiss
        </button>
      </section>
    );
  return (
    <section className="voice-panel" aria-label="Voice">
      <p role="status">
        {v.status === 'connecting' ? 'Connecting to' : 'Voice connected:'} <strong>{name}</strong>
      </p>
      {v.message && <p className="muted">{v.message}</p>}
      <div className="voice-buttons">
        <button
          type="button"
          aria-pressed={v.muted}
          disabled={v.status !== 'connected'}
          onClick={() => void setMuted(!v.muted)}
        >
          {v.muted ? 'Unmute' : 'Mute'}
        </button>
        <button
          type="button"
          aria-pressed={v.deafened}
          disabled={v.status !== 'connected'}
          onClick={() => void setDeafened(!v.deafened)}
        >
          {v.deafened ? 'Undeafen' : 'Deafen'}
        </button>
        <button type="button" className="danger" onClick={() => void leaveVoice()}>
          Leave
        </button>
      </div>
    </section>
  );
}
