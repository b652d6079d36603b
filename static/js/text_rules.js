/**
 * The rules for the short texts people give things — card, list and board titles, and display
 * names — in one place that the server (src/schemas.ts) and the client both follow, so neither
 * accepts what the other refuses:
 * - lengths count UTF-16 code units, as the browser's `maxlength` does (an emoji counts 2);
 * - something must be visible: a title made only of spaces, zero-width characters or Hangul
 *   fillers would show as a blank, unclickable card;
 * - no bidirectional overrides or embeddings (U+202A–U+202E), which make text read in another
 *   order than it is stored ("Trojan Source"); isolates (U+2066–U+2069) stay allowed.
 * Control characters and lone surrogates are refused separately (by the server's schemas).
 */

export const TITLE_MAX = 200;
export const NAME_MAX = 100;

/** Characters that show nothing on their own. */
const INVISIBLE =
  /[\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/gu;
const BIDI_OVERRIDE = /[\u202a-\u202e]/u;

/**
 * Why a (trimmed) title or name is refused, or null when it is fine.
 * @param {string} text
 * @param {number} [max] the most UTF-16 code units it may have
 * @returns {string | null}
 */
export function textProblem(text, max = TITLE_MAX) {
  if (text.length === 0) return "must not be empty";
  if (text.length > max) return `must be at most ${max} characters`;
  if (BIDI_OVERRIDE.test(text)) return "must not contain bidirectional override characters";
  if (text.replace(INVISIBLE, "").length === 0) return "must contain a visible character";
  return null;
}
