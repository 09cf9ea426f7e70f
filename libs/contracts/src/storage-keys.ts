import { createHash } from 'node:crypto';
import { canonicalOriginUrl } from './origin-url';
import { canonicalTransform, type Transform } from './transform';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Storage key of an original: sha256 of its canonical URL, so spellings of one URL share one original. */
export function originalKeyOf(url: string): string {
  return sha256Hex(canonicalOriginUrl(url));
}

/** Storage key of a variant: sha256 of the URL and the canonical transform. */
export function variantKeyOf(url: string, transform: Transform): string {
  return sha256Hex(`${canonicalOriginUrl(url)}\n${canonicalTransform(transform)}`);
}
