import type { EmbedRecord } from '@parley/storage';
import { z } from 'zod';

/** Discord's limits on embeds: per field, 10 per message and 6,000 characters over all of them. */
export const MAX_EMBEDS = 10;
const MAX_EMBED_CHARACTERS = 6000;
/** SUPPRESS_EMBEDS: no embeds shown, no links unfurled. The only flag a sender may set besides 1<<12. */
export const SUPPRESS_EMBEDS = 1 << 2;
const SUPPRESS_NOTIFICATIONS = 1 << 12;
export const SETTABLE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS;

const link = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((v) => v.startsWith('http'), 'Must be an http(s) URL');
const media = z.strictObject({
  // Or Discord's `attachment://<filename>`: a file sent with the same message (serializers.ts resolves it).
  url: z.union([
    link,
    z.string().regex(/^attachment:\/\/[^\s/\\]{1,255}$/, 'Must be an http(s) or attachment:// URL'),
  ]),
  width: z.number().int().min(0).optional(),
  height: z.number().int().min(0).optional(),
});

/** One embed as Discord accepts it from a sender (proxy_url and provider are the server's to set). */
export const embedInput = z.strictObject({
  title: z.string().max(256).optional(),
  type: z.literal('rich').optional(),
  description: z.string().max(4096).optional(),
  url: link.optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  footer: z.strictObject({ text: z.string().min(1).max(2048), icon_url: link.optional() }).optional(),
  image: media.optional(),
  thumbnail: media.optional(),
  author: z
    .strictObject({ name: z.string().min(1).max(256), url: link.optional(), icon_url: link.optional() })
    .optional(),
  fields: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(256),
        value: z.string().min(1).max(1024),
        inline: z.boolean().optional(),
      }),
    )
    .max(25)
    .optional(),
});

/** The characters Discord counts towards the 6,000 of a message's embeds. */
function characters(e: z.infer<typeof embedInput>): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

export const embedsInput = z
  .array(embedInput)
  .max(MAX_EMBEDS)
  .refine((list) => list.reduce((n, e) => n + characters(e), 0) <= MAX_EMBED_CHARACTERS, {
    message: `Embeds may hold at most ${MAX_EMBED_CHARACTERS} characters in all`,
  })
  .transform((list): EmbedRecord[] => list.map((e) => ({ ...e, type: 'rich' })));
