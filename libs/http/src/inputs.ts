import { isSnowflake } from '@parley/common';
import { z } from 'zod';

/** The one zod type for ids in bodies and queries: canonical snowflakes only (400 otherwise). */
export const snowflake = z.string().refine(isSnowflake, 'Must be a snowflake id');

// C0/C1 controls, bidirectional embeddings, overrides and isolates, line/paragraph separators, zero-width space,
// word joiner and BOM. Joiners (ZWJ in emoji, ZWNJ in Persian) and the LRM/RLM marks stay: scripts need them.
// eslint-disable-next-line no-control-regex
const INVISIBLE_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b\u2028-\u202e\u2060\u2066-\u2069\ufeff]/u;

/** True when the text holds a character that can disguise what people read (bidi overrides, controls). */
export function hasDeceptiveCharacters(text: string): boolean {
  return INVISIBLE_OR_CONTROL.test(text);
}

/** Removes what hasDeceptiveCharacters finds: for names that arrive outside a JSON body (filenames). */
export function stripDeceptiveCharacters(text: string): string {
  return text.replace(new RegExp(INVISIBLE_OR_CONTROL.source, 'gu'), '');
}

/**
 * A name other people see (guild, channel, role, nickname, display name): trimmed, bounded, and refused
 * (400) when it carries bidirectional overrides or control characters that could make it read as another.
 */
export function visibleName(min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min)
    .max(max)
    .refine((text) => !hasDeceptiveCharacters(text), 'Must not contain control or bidirectional characters');
}
