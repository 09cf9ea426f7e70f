import type { IncomingMessage } from 'node:http';
import { ImageCloudError } from '@image-cloud/errors';
import { mapOriginStatus } from './map-origin-status';

/**
 * The error for a final (non-redirect) answer whose body is not to be read: a status other than
 * 2xx, a content-encoded body (nothing is decompressed), or a Content-Length above the byte cap.
 * Undefined when the body is to be downloaded.
 */
export function refuseResponse(response: IncomingMessage, where: string, maxBytes: number): ImageCloudError | undefined {
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) return mapOriginStatus(status, response.headers, where);

  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    return new ImageCloudError(
      'unsupported_format',
      // The header value comes from the origin: only a short plain token is echoed back.
      `The origin ${where} sent a ${/^[a-z0-9-]{1,16}$/.test(encoding) ? `${encoding}-encoded` : 'content-encoded'} body; only unencoded image bytes are accepted.`,
    );
  }
  const declared = response.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) {
    return new ImageCloudError(
      'image_too_large',
      `The image at the origin ${where} is ${declared} bytes, more than the ${maxBytes}-byte limit.`,
    );
  }
  return undefined;
}
