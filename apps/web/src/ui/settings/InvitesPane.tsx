import type { GuildFullDto, InviteDto } from '@parley/common/protocol';
import { useEffect, useState } from 'react';
import { api } from '../../actions';
import { inviteUrl } from '../GuildDialogs';
import { ErrorLine, useAction } from './useAction';

/** The guild's live invites, to revoke. */
export function InvitesPane({ guild }: { guild: GuildFullDto }) {
  const [invites, setInvites] = useState<InviteDto[] | null>(null);
  const [error, , run] = useAction();
  const refresh = () => run(api.guildInvites(guild.id).then((list) => setInvites(list)));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(refresh, [guild.id]);
  return (
    <>
      <ErrorLine error={error} />
      {invites && invites.length === 0 && (
        <p className="muted">No active invites. Use “Invite people” in a channel.</p>
      )}
      <ul className="settings-list" aria-label="Invites">
        {(invites ?? []).map((i) => (
          <li key={i.code} className="settings-row">
            <code>{inviteUrl(i.code)}</code>
            <span className="muted">
              {' '}
              #{i.channel.name} · {i.uses} uses{i.max_uses ? ` of ${i.max_uses}` : ''} ·{' '}
              {i.expires_at ? `expires ${new Date(i.expires_at).toLocaleString()}` : 'never expires'}
              {i.inviter ? ` · by ${i.inviter.username}` : ''}
            </span>
            <div className="row-actions">
              <button type="button" className="danger" onClick={() => run(api.deleteInvite(i.code), refresh)}>
                Revoke
              </button>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
