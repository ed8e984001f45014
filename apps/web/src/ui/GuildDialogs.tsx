import type { ChannelDto, InviteDto } from '@parley/common/protocol';
import { useEffect, useState, type FormEvent } from 'react';
import { acceptInvite, api, createGuild, firstTextChannel } from '../actions';
import { channelPath, navigate } from '../router';
import { Dialog, errorText } from './Dialog';

/** Create a guild, or join one with an invite link or code. */
export function NewGuildDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [invite, setInvite] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    createGuild(name.trim()).then(
      (guild) => {
        onClose();
        const first = firstTextChannel(guild);
        navigate(first ? channelPath(guild.id, first.id) : `/channels/${guild.id}`);
      },
      (err: unknown) => {
        setBusy(false);
        setError(errorText(err));
      },
    );
  };

  const join = (e: FormEvent) => {
    e.preventDefault();
    const code = invite
      .trim()
      .replace(/^.*\/invite\//, '')
      .replace(/[/?#].*$/, '');
    if (!code) return;
    setBusy(true);
    acceptInvite(code).then(onClose, (err: unknown) => {
      setBusy(false);
      setError(errorText(err));
    });
  };

  return (
    <Dialog title="New guild" onClose={onClose}>
      <form onSubmit={create}>
        <label className="field">
          <span>Guild name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            minLength={2}
            maxLength={100}
            autoFocus
          />
        </label>
        <button type="submit" className="primary wide" disabled={busy || name.trim().length < 2}>
          Create guild
        </button>
      </form>
      <div className="or" role="separator">
        <span>or</span>
      </div>
      <form onSubmit={join}>
        <label className="field">
          <span>Invite link or code</span>
          <input
            value={invite}
            onChange={(e) => setInvite(e.target.value)}
            placeholder="https://…/invite/AbCd1234"
          />
        </label>
        <button type="submit" className="secondary wide" disabled={busy || !invite.trim()}>
          Join guild
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

export function inviteUrl(code: string): string {
  return `${location.origin}/invite/${code}`;
}

/** Makes an invite to the channel and shows its link, ready to copy. */
export function InviteDialog({ channel, onClose }: { channel: ChannelDto; onClose: () => void }) {
  const [invite, setInvite] = useState<InviteDto | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [maxAge, setMaxAge] = useState(86_400);

  useEffect(() => {
    let live = true;
    setInvite(null);
    api.createInvite(channel.id, { max_age: maxAge }).then(
      (i) => live && setInvite(i),
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [channel.id, maxAge]);

  const url = invite ? inviteUrl(invite.code) : '';
  return (
    <Dialog title={`Invite people to #${channel.name ?? ''}`} onClose={onClose}>
      <label className="field">
        <span>Invite link</span>
        <input readOnly value={url} placeholder="Creating…" onFocus={(e) => e.currentTarget.select()} />
      </label>
      <label className="field">
        <span>Expires after</span>
        <select value={maxAge} onChange={(e) => setMaxAge(Number(e.target.value))}>
          <option value={3600}>1 hour</option>
          <option value={86_400}>1 day</option>
          <option value={604_800}>7 days</option>
          <option value={0}>Never</option>
        </select>
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-actions">
        <button
          type="button"
          className="primary"
          disabled={!invite}
          onClick={() => {
            navigator.clipboard.writeText(url).then(
              () => setCopied(true),
              () => setError('Copying is not allowed here: select the link and copy it yourself.'),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy link'}
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Done
        </button>
      </div>
      <p className="sr-only" role="status">
        {copied ? 'Invite link copied' : ''}
      </p>
    </Dialog>
  );
}
