import { BadRequestError } from '@parley/common';

// Sequences of pictographs, flags, keycaps, skin-tone modifiers, joiners and variation selectors.
const EMOJI =
  /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|[#*0-9])+$/u;

/** A reaction's emoji from the route: unicode emoji only. */
export function emojiParam(raw: string): string {
  if (raw.length === 0 || raw.length > 32 || !EMOJI.test(raw) || /^[#*0-9]+$/.test(raw))
    throw new BadRequestError('Unknown emoji', 10014);
  return raw;
}
