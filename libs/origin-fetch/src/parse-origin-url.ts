import { validateOriginUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';

/**
 * Parses the URL to download: an origin URL as validateOriginUrl accepts it (`bad_parameter`
 * otherwise), of any length, since a peer's get_image URL carries an encoded origin URL.
 */
export function parseOriginUrl(raw: string): URL {
  const checked = validateOriginUrl(raw, { maxLength: Number.POSITIVE_INFINITY });
  if (!checked.ok) throw new ImageCloudError('bad_parameter', `The origin URL ${checked.reason}.`);
  return new URL(checked.url);
}
