import { createHash } from 'node:crypto';
import { canonicalTransform, type Transform } from './transform';

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Storage key of an original: sha256 of its URL exactly as given. */
export function originalKeyOf(url: string): string {
  return sha256Hex(url);
}

/** Storage key of a variant: sha256 of the URL and the canonical transform. */
export function variantKeyOf(url: string, transform: Transform): string {
  return sha256Hex(`${url}\n${canonicalTransform(transform)}`);
}
