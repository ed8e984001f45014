import type { EmbedDto, EmbedMediaDto } from '@parley/common/protocol';
import type { ReactNode } from 'react';

/**
 * A link only when it is http(s) (never javascript:, data: or anything else an embed's author wrote); the
 * URL as the browser parsed it, or undefined.
 */
export function safeHref(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const url = new URL(raw, window.location.origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where an embed's picture is loaded from: the media proxy's URL (a path on this server) when there is one, so
 * the reader's browser never contacts the linked site; a sender's own http(s) image URL otherwise.
 */
function pictureSrc(
  media: EmbedMediaDto | undefined,
  size: { width: number; height: number },
): string | undefined {
  if (!media) return undefined;
  if (media.proxy_url && media.proxy_url.startsWith('/media/'))
    return `${media.proxy_url}&width=${size.width}&height=${size.height}`;
  return safeHref(media.url);
}

function Link({
  href,
  children,
  className,
}: {
  href: string | undefined;
  children: ReactNode;
  className?: string;
}) {
  if (!href) return <span className={className}>{children}</span>;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow ugc" className={className}>
      {children}
    </a>
  );
}

function colorOf(color: number | undefined): string | undefined {
  return color === undefined || !Number.isInteger(color) || color < 0 || color > 0xffffff
    ? undefined
    : `#${color.toString(16).padStart(6, '0')}`;
}

/** One embed: Discord's card, a colour bar, provider, author, title link, description, fields, pictures, footer. */
function Embed({ embed, renderText }: { embed: EmbedDto; renderText: (text: string) => ReactNode }) {
  const rich = embed.type === undefined || embed.type === 'rich';
  const thumbnail = pictureSrc(embed.thumbnail, { width: 160, height: 160 });
  const image = pictureSrc(embed.image, { width: 400, height: 300 });
  // A link to a picture alone: the picture is the preview.
  if (embed.type === 'image' && thumbnail)
    return (
      <div className="embed embed-image" data-embed-type="image">
        <Link href={safeHref(embed.url)}>
          <img
            src={pictureSrc(embed.thumbnail, { width: 400, height: 300 })}
            alt=""
            loading="lazy"
            decoding="async"
          />
        </Link>
      </div>
    );
  const timestamp = embed.timestamp ? new Date(embed.timestamp) : null;
  return (
    <div
      className="embed"
      data-embed-type={embed.type ?? 'rich'}
      style={{ borderLeftColor: colorOf(embed.color) }}
      role="group"
      aria-label={embed.title ? `Preview: ${embed.title}` : 'Preview'}
    >
      <div className="embed-body">
        {embed.provider?.name && (
          <div className="embed-provider">
            <Link href={safeHref(embed.provider.url)}>{embed.provider.name}</Link>
          </div>
        )}
        {embed.author?.name && (
          <div className="embed-author">
            <Link href={safeHref(embed.author.url)}>{embed.author.name}</Link>
          </div>
        )}
        {embed.title && (
          <div className="embed-title">
            <Link href={safeHref(embed.url)}>{embed.title}</Link>
          </div>
        )}
        {embed.description && (
          <div className="embed-description">{rich ? renderText(embed.description) : embed.description}</div>
        )}
        {embed.fields && embed.fields.length > 0 && (
          <dl className="embed-fields">
            {embed.fields.map((f, i) => (
              <div key={i} className={f.inline ? 'embed-field inline' : 'embed-field'}>
                <dt>{f.name}</dt>
                <dd>{renderText(f.value)}</dd>
              </div>
            ))}
          </dl>
        )}
        {image && (
          <Link href={safeHref(embed.image?.url)} className="embed-image-link">
            <img className="embed-picture" src={image} alt="" loading="lazy" decoding="async" />
          </Link>
        )}
        {(embed.footer?.text || (timestamp && !Number.isNaN(timestamp.getTime()))) && (
          <div className="embed-footer">
            {embed.footer?.text}
            {embed.footer?.text && timestamp && ' • '}
            {timestamp && !Number.isNaN(timestamp.getTime()) && (
              <time dateTime={timestamp.toISOString()}>{timestamp.toLocaleString()}</time>
            )}
          </div>
        )}
      </div>
      {thumbnail && (
        <img className="embed-thumbnail" src={thumbnail} alt="" loading="lazy" decoding="async" />
      )}
    </div>
  );
}

/**
 * A message's embeds (link previews and bots' rich embeds), with Discord's × to remove them (suppress embeds)
 * for the author and for members who may manage messages. Everything is rendered as text by React: no HTML of
 * an embed reaches the page, and links and pictures are http(s) only.
 */
export function Embeds({
  embeds,
  canSuppress,
  onSuppress,
  renderText,
}: {
  embeds: EmbedDto[];
  canSuppress: boolean;
  onSuppress: () => void;
  renderText: (text: string) => ReactNode;
}) {
  return (
    <div className="embeds">
      {embeds.map((e, i) => (
        <Embed key={i} embed={e} renderText={renderText} />
      ))}
      {canSuppress && (
        <button
          type="button"
          className="embed-suppress"
          aria-label="Remove embeds"
          title="Remove embeds"
          onClick={onSuppress}
        >
          ×
        </button>
      )}
    </div>
  );
}
