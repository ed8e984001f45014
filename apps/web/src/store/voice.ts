import type { State, VoiceStateDto } from './state';

/**
 * One VOICE_STATE_UPDATE: the user leaves whichever voice channel they were in and, unless `channel_id` is
 * null, joins the one named. A user is in at most one voice channel, as on Discord.
 */
export function voiceStateUpdated(s: State, d: VoiceStateDto): State {
  const voice: State['voice'] = {};
  for (const [channelId, people] of Object.entries(s.voice)) {
    if (!people[d.user_id]) {
      voice[channelId] = people;
      continue;
    }
    const rest = { ...people };
    delete rest[d.user_id];
    if (Object.keys(rest).length > 0) voice[channelId] = rest;
  }
  if (d.channel_id) voice[d.channel_id] = { ...voice[d.channel_id], [d.user_id]: d };
  return { ...s, voice };
}
