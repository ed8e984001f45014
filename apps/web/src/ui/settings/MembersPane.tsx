import type { GuildFullDto } from '@parley/common/protocol';
import { useEffect } from 'react';
import { loadMembers } from '../../actions';
import { useStore } from '../../store';
import { MemberRow } from './MemberRow';

/** Every member but ourselves, loaded when the tab opens. */
export function MembersPane({ guild, perms }: { guild: GuildFullDto; perms: bigint }) {
  const members = useStore((s) => s.members[guild.id]);
  const me = useStore((s) => s.me);
  useEffect(() => {
    void loadMembers(guild.id).catch(() => undefined);
  }, [guild.id]);
  if (!members) return <p className="muted">Loading members…</p>;
  return (
    <ul className="settings-list" aria-label="Members">
      {Object.values(members)
        .filter((m) => m.user.id !== me?.id)
        .map((m) => (
          <MemberRow key={m.user.id} guild={guild} member={m} perms={perms} />
        ))}
    </ul>
  );
}
