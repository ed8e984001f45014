import type { EmojiDto, GuildFullDto } from '@parley/common/protocol';
import { useState, type FormEvent } from 'react';
import { api } from '../../actions';
import { emojiImageUrl } from '../../emoji/custom';
import { ErrorLine, useAction } from './useAction';

const NAME = /^[A-Za-z0-9_]{2,32}$/;
const MAX_BYTES = 256 * 1024;

/** A file name as an emoji name: letters, digits and underscores, 2 to 32 of them. */
function nameFromFile(file: string): string {
  const base = file
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  return base.length >= 2 ? base : 'emoji';
}

function readDataUri(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('The file could not be read'));
    reader.readAsDataURL(file);
  });
}

function EmojiRow({ guildId, emoji }: { guildId: string; emoji: EmojiDto }) {
  const [name, setName] = useState(emoji.name);
  const [error, busy, run] = useAction();
  const rename = (e: FormEvent) => {
    e.preventDefault();
    if (name !== emoji.name) run(api.updateEmoji(guildId, emoji.id, { name }));
  };
  return (
    <li className="settings-row emoji-row">
      <img src={emojiImageUrl(emoji.id, emoji.animated, 64)} alt="" width={32} height={32} />
      <form onSubmit={rename} className="emoji-rename">
        <label>
          <span className="sr-only">Name of :{emoji.name}:</span>
          <input
            value={name}
            pattern="[A-Za-z0-9_]{2,32}"
            maxLength={32}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!NAME.test(name)}
          />
        </label>
        <button
          type="submit"
          className="secondary"
          disabled={busy || name === emoji.name || !NAME.test(name)}
        >
          Rename
        </button>
      </form>
      {emoji.user && <span className="muted">by {emoji.user.username}</span>}
      <div className="row-actions">
        <button
          type="button"
          className="danger"
          aria-label={`Delete :${emoji.name}:`}
          disabled={busy}
          onClick={() => run(api.deleteEmoji(guildId, emoji.id))}
        >
          Delete
        </button>
      </div>
      <ErrorLine error={error} />
    </li>
  );
}

/**
 * The guild's custom emoji (for members with MANAGE_GUILD_EXPRESSIONS): upload (PNG, JPEG, GIF or WebP up to
 * 256 KiB), rename, delete. The list is the store's, kept current by GUILD_EMOJIS_UPDATE.
 */
export function EmojiPane({ guild }: { guild: GuildFullDto }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [error, busy, run] = useAction();
  const [local, setLocal] = useState<string | null>(null);
  const emojis = guild.emojis ?? [];
  const upload = (e: FormEvent) => {
    e.preventDefault();
    setLocal(null);
    if (!file) return setLocal('Choose an image first.');
    if (file.size > MAX_BYTES) return setLocal('Emoji images are limited to 256 KB.');
    if (!NAME.test(name)) return setLocal('Names are 2 to 32 letters, digits or underscores.');
    run(
      readDataUri(file).then((image) => api.createEmoji(guild.id, { name, image })),
      () => {
        setFile(null);
        setName('');
        (e.target as HTMLFormElement).reset();
      },
    );
  };
  const animated = emojis.filter((x) => x.animated).length;
  return (
    <>
      <form className="emoji-upload" onSubmit={upload} aria-label="Upload an emoji">
        <label>
          Image
          <input
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp"
            onChange={(e) => {
              const chosen = e.target.files?.[0] ?? null;
              setFile(chosen);
              if (chosen && !name) setName(nameFromFile(chosen.name));
            }}
          />
        </label>
        <label>
          Name
          <input value={name} maxLength={32} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Upload
        </button>
      </form>
      <ErrorLine error={local ?? error} />
      <p className="muted">
        {emojis.length - animated} static, {animated} animated. Use one in a message as :name:.
      </p>
      {emojis.length === 0 && <p className="muted">No custom emoji yet.</p>}
      <ul className="settings-list" aria-label="Emoji">
        {emojis.map((emoji) => (
          <EmojiRow key={`${emoji.id}:${emoji.name}`} guildId={guild.id} emoji={emoji} />
        ))}
      </ul>
    </>
  );
}
