import type { IncomingHttpHeaders } from 'node:http';
import { ImageCloudError } from '@image-cloud/errors';
import { parseRetryAfter } from './parse-retry-after';

/**
 * The error for an origin answer that is not 2xx (redirects have already been followed by then):
 * 404/410 → origin_not_found; 408/429/5xx → origin_error, retryable, with Retry-After;
 * any other status → origin_error, not retryable. `where` is the describeOrigin() text.
 */
export function mapOriginStatus(status: number, headers: IncomingHttpHeaders, where: string): ImageCloudError {
  if (status === 404 || status === 410) {
    return new ImageCloudError('origin_not_found', `The origin ${where} answered ${status}: the image does not exist there.`);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new ImageCloudError('origin_error', `The origin ${where} answered ${status}; it may succeed if tried again later.`, {
      retryable: true,
      retryAfterSeconds: parseRetryAfter(headers['retry-after']),
      originStatus: status,
    });
  }
  if (status >= 300 && status < 400) {
    return new ImageCloudError('origin_error', `The origin ${where} answered ${status} without a redirect that could be followed.`, {
      retryable: false,
    });
  }
  return new ImageCloudError('origin_error', `The origin ${where} refused the request with status ${status}.`, { retryable: false });
}
