import { ImageCloudError } from '@image-cloud/errors';

/** Parses an origin URL; only absolute http(s) URLs with a host are accepted (`bad_parameter` otherwise). */
export function parseOriginUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ImageCloudError('bad_parameter', 'The origin URL could not be parsed.');
  }
  if (!isHttpUrl(url)) {
    throw new ImageCloudError('bad_parameter', `The origin URL must use http or https, not "${url.protocol.replace(/:$/, '')}".`);
  }
  if (url.hostname === '') throw new ImageCloudError('bad_parameter', 'The origin URL has no host.');
  return url;
}

export function isHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}
