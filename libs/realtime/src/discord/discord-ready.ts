import type { ReadySnapshot } from '@parley/chat';
import { serialise } from '../protocol';
import type { ShapedReady } from '../session-connection';
import type { Session } from '../session';

export interface DiscordReadyContext {
  resumeGatewayUrl: string;
  application: { id: string; flags: number };
}

/**
 * Discord's READY: the guilds as unavailable stubs, then one GUILD_CREATE each with its channels and roles (the
 * way Discord clients fill their caches). Built once per session start; Parley-only fields stay (extra is fine).
 */
export function shapeDiscordReady(
  session: Session,
  snapshot: ReadySnapshot,
  context: DiscordReadyContext,
): ShapedReady {
  const user = snapshot.user;
  const ready = {
    v: 10,
    user: {
      ...user,
      discriminator: '0',
      global_name: user.display_name,
      verified: true,
      mfa_enabled: false,
      flags: 0,
    },
    guilds: snapshot.guilds.map((g) => ({ id: g.id, unavailable: true })),
    session_id: session.id,
    session_type: 'normal',
    resume_gateway_url: context.resumeGatewayUrl,
    shard: [0, 1],
    application: context.application,
    private_channels: snapshot.private_channels,
    relationships: [],
    presences: [],
    guild_join_requests: [],
  };
  const after = snapshot.guilds.map((guild) => ({
    t: 'GUILD_CREATE',
    d: serialise({
      ...guild,
      channels: guild.channels.map((c) => ({ ...c, guild_id: guild.id })),
      unavailable: false,
      large: false,
      joined_at: guild.created_at,
      features: [],
      emojis: guild.emojis ?? [],
      stickers: [],
      members: [],
      voice_states: [],
      presences: [],
      threads: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    }),
  }));
  return { ready: serialise(ready), after };
}
