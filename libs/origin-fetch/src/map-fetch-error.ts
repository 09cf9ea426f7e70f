import { ImageCloudError } from '@image-cloud/errors';
import { BlockedAddressError } from './blocked-address-error';
import { blockedAddress } from './check-literal-host';
import type { TimeoutPhase } from './phase-timeouts';

const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'refused the connection',
  ECONNRESET: 'closed the connection before the download finished',
  EPIPE: 'closed the connection before the download finished',
  ENOTFOUND: 'has a host name that does not resolve',
  EAI_AGAIN: 'could not be resolved (temporary DNS failure)',
  EHOSTUNREACH: 'is unreachable',
  ENETUNREACH: 'is unreachable',
  EHOSTDOWN: 'is unreachable',
};

const TIMEOUT_EVENTS: Record<TimeoutPhase, string> = {
  lookup: 'did not resolve in time',
  connect: 'did not accept the connection in time',
  secureConnect: 'did not complete the TLS handshake in time',
  response: 'did not start answering in time',
};

/**
 * Turns what net/tls/http throw, and the fetcher's own PhaseTimeoutError, into the registry's
 * errors. `where` is the describeOrigin() text of the URL being fetched (host + path, no query).
 * ImageCloudErrors pass through unchanged.
 */
export function mapFetchError(error: unknown, where: string): ImageCloudError {
  if (error instanceof ImageCloudError) return error;
  const { code, name, event } = (error ?? {}) as { code?: unknown; name?: unknown; event?: unknown };

  if (code === BlockedAddressError.CODE) return blockedAddress(where, { cause: error });
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    const what = (typeof event === 'string' && TIMEOUT_EVENTS[event as TimeoutPhase]) || 'did not answer in time';
    return new ImageCloudError('origin_timeout', `The origin ${where} ${what}.`, { cause: error });
  }
  if (code === 'ERR_TOO_MANY_REDIRECTS') {
    return new ImageCloudError('origin_error', `The origin ${where} redirected too many times.`, { retryable: false, cause: error });
  }
  if (code === 'ERR_UNSUPPORTED_PROTOCOL') {
    return new ImageCloudError('origin_error', `The origin ${where} redirected to a URL that is not http or https.`, {
      retryable: false,
      cause: error,
    });
  }
  if (typeof code === 'string' && CONNECTION_ERRORS[code]) {
    return new ImageCloudError('origin_error', `The origin ${where} ${CONNECTION_ERRORS[code]}.`, { retryable: true, cause: error });
  }
  if (typeof code === 'string' && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new ImageCloudError('origin_error', `The origin ${where} presented a TLS certificate that could not be verified.`, {
      retryable: false,
      cause: error,
    });
  }
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return new ImageCloudError('origin_error', `The origin ${where} sent a malformed HTTP response.`, { retryable: false, cause: error });
  }
  return new ImageCloudError('origin_error', `The download from the origin ${where} failed.`, { retryable: true, cause: error });
}
