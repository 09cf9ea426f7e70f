import { ImageCloudError } from '@image-cloud/errors';
import type { RawQuery } from './query-params';

/** Parameters every endpoint accepts besides its own: the legacy token and the signed-URL fields. */
const AUTH_PARAMS = ['token', 'signature', 'expires', 'tenant'];
/** Names this short are too close to ordinary words for two edits to mean a typo (`url`, `size`). */
const MIN_NAME_FOR_TYPOS = 5;
const MAX_TYPO_EDITS = 2;

/** Levenshtein distance, stopping early once it is over `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...current) > max) return max + 1;
    previous = current;
  }
  return previous[b.length];
}

/**
 * The query with the old documentation's spellings renamed to the real names (a name given both
 * ways counts as given twice). A parameter within two edits of a known name (`resize_widht`) is
 * a 400 naming the right one, instead of silently answering something else; any other unknown
 * parameter is ignored, as old clients send extras.
 */
export function withKnownNames(query: RawQuery, known: readonly string[], synonyms: Readonly<Record<string, string>> = {}): RawQuery {
  const result: RawQuery = {};
  for (const [name, value] of Object.entries(query)) {
    const real = synonyms[name];
    if (real !== undefined) {
      result[real] = real in result ? [result[real], value].flat() : value;
      continue;
    }
    if (!known.includes(name) && !AUTH_PARAMS.includes(name)) {
      const meant = known
        .filter((candidate) => candidate.length >= MIN_NAME_FOR_TYPOS)
        .map((candidate) => ({ candidate, edits: editDistance(name, candidate, MAX_TYPO_EDITS) }))
        .filter(({ edits }) => edits <= MAX_TYPO_EDITS)
        .sort((a, b) => a.edits - b.edits)[0]?.candidate;
      if (meant) throw new ImageCloudError('bad_parameter', `Unknown parameter "${name.slice(0, 40)}"; did you mean "${meant}"?`);
    }
    result[name] = name in result ? [result[name], value].flat() : value;
  }
  return result;
}
