import http from 'node:http';
import https from 'node:https';
import got, { type NormalizedOptions, type Options, type Response } from 'got';
import { isHttpUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { parseAllowList } from './address-policy';
import { blockedAddress, isBlockedLiteral } from './check-literal-host';
import { describeOrigin } from './describe-origin';
import { mapFetchError } from './map-fetch-error';
import { mapOriginStatus } from './map-origin-status';
import type { FetchedOriginal, FetchOriginOptions, OriginFetcher, OriginFetcherOptions } from './origin-fetcher-types';
import { parseOriginUrl } from './parse-origin-url';
import { createVettedLookup } from './vetted-lookup';

type GotLookup = NonNullable<Options['lookup']>;

/**
 * The origin downloader: got 11 in stream mode with a vetted DNS lookup
 * and IP-literal checks on every hop (SSRF), no retries (the queue retries), no decompression,
 * connect/response/total timeouts, and a byte cap enforced from Content-Length and while streaming.
 * Every failure is an ImageCloudError whose message names the origin by host and path only.
 */
export function createOriginFetcher(options: OriginFetcherOptions): OriginFetcher {
  validateOptions(options);
  const allowList = parseAllowList(options.allowPrivateOrigins);
  const lookup = createVettedLookup(options.allowPrivateOrigins);
  // Dedicated agents: no keep-alive sockets shared with unvetted clients, and the vetted lookup set
  // on both, so an http→https redirect cannot swap to an unfiltered agent. Connections are kept
  // alive: a saturated domain's slots download back to back, and a new TCP connection per image
  // cost a tenth of the prefetch throughput. A kept socket was connected to a vetted address; Node
  // drops it before the origin's announced Keep-Alive timeout, and a reused socket that the origin
  // closed anyway is retried once on a fresh connection (below).
  const agentOptions = { keepAlive: true, lookup: lookup as http.AgentOptions['lookup'] };
  const client = got.extend({
    agent: { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) },
    lookup: lookup as unknown as GotLookup,
    followRedirect: true,
    maxRedirects: options.maxRedirects,
    decompress: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: {
      lookup: options.connectTimeoutMs,
      connect: options.connectTimeoutMs,
      secureConnect: options.connectTimeoutMs,
      response: options.responseTimeoutMs,
      request: options.totalTimeoutMs,
    },
    headers: {
      'user-agent': options.userAgent,
      'accept-encoding': 'identity',
      accept: 'image/*,*/*;q=0.8',
    },
  });

  return {
    fetch(rawUrl: string, fetchOptions: FetchOriginOptions = {}): Promise<FetchedOriginal> {
      let url: URL;
      try {
        url = parseOriginUrl(rawUrl);
      } catch (error) {
        return Promise.reject(error);
      }
      const where = describeOrigin(url);
      if (isBlockedLiteral(url, allowList)) return Promise.reject(blockedAddress(where));
      const { signal } = fetchOptions;
      if (signal?.aborted) return Promise.reject(abortError(signal, where));

      return new Promise<FetchedOriginal>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let received = 0;
        let response: Response | undefined;
        let redirected = false;
        let settled = false;

        const checkRedirect = (next: NormalizedOptions): void => {
          redirected = true;
          if (!isHttpUrl(next.url)) {
            throw fail(
              new ImageCloudError('origin_error', `The origin ${where} redirected to a URL that is not http or https.`, {
                retryable: false,
              }),
            );
          }
          if (isBlockedLiteral(next.url, allowList)) throw fail(blockedAddress(where, { viaRedirect: true }));
        };

        let stream: ReturnType<typeof client.stream> | undefined;

        const cleanup = (): void => {
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
        };
        /** Settles with `error`, destroying the request and its socket. Returns the error for `throw`. */
        function fail(error: ImageCloudError): ImageCloudError {
          if (!settled) {
            settled = true;
            cleanup();
            stream?.destroy();
            reject(error);
          }
          return error;
        }
        const onAbort = (): void => {
          if (signal) fail(abortError(signal, where));
        };
        // got's `request` timeout restarts on each redirect hop; this one covers the whole download.
        const deadline = setTimeout(() => {
          fail(
            new ImageCloudError(
              'origin_timeout',
              `The origin ${where} did not deliver the image within ${options.totalTimeoutMs} ms.`,
            ),
          );
        }, options.totalTimeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });

        let reusedSocket = false;
        let mayRetryStaleSocket = true;
        const start = (): void => {
          stream = client.stream(url, { hooks: { beforeRedirect: [checkRedirect] } });
          stream.on('request', (request: http.ClientRequest) => {
            reusedSocket = request.reusedSocket;
          });
          stream.on('response', (res: Response) => {
            const status = res.statusCode;
            if (status < 200 || status > 299) {
              fail(mapOriginStatus(status, res.headers, where));
              return;
            }
            const encoding = res.headers['content-encoding']?.trim().toLowerCase();
            if (encoding && encoding !== 'identity') {
              fail(
                new ImageCloudError(
                  'unsupported_format',
                  // The header value comes from the origin: only a short plain token is echoed back.
                  `The origin ${where} sent a ${/^[a-z0-9-]{1,16}$/.test(encoding) ? `${encoding}-encoded` : 'content-encoded'} body; only unencoded image bytes are accepted.`,
                ),
              );
              return;
            }
            const declared = res.headers['content-length'];
            if (declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) > options.maxBytes) {
              fail(
                new ImageCloudError(
                  'image_too_large',
                  `The image at the origin ${where} is ${declared} bytes, more than the ${options.maxBytes}-byte limit.`,
                ),
              );
              return;
            }
            response = res;
          });

          stream.on('data', (chunk: Buffer) => {
            if (settled) return;
            received += chunk.length;
            if (received > options.maxBytes) {
              fail(
                new ImageCloudError(
                  'image_too_large',
                  `The image at the origin ${where} is larger than the ${options.maxBytes}-byte limit.`,
                ),
              );
              return;
            }
            chunks.push(chunk);
          });

          stream.on('end', () => {
            if (settled) return;
            if (response === undefined) {
              fail(new ImageCloudError('origin_error', `The origin ${where} ended the download without a response.`));
              return;
            }
            settled = true;
            cleanup();
            resolve({
              bytes: Buffer.concat(chunks, received),
              status: response.statusCode,
              contentType: header(response, 'content-type'),
              etag: header(response, 'etag'),
              lastModified: header(response, 'last-modified'),
              finalUrl: response.url,
            });
          });

          // Stays attached after settling: got may still report the error that followed our destroy().
          stream.on('error', (error: unknown) => {
            if (!settled && isStaleSocket(error, reusedSocket, response) && mayRetryStaleSocket) {
              mayRetryStaleSocket = false;
              redirected = false;
              start();
              return;
            }
            const mapped = mapFetchError(error, where);
            fail(redirected && mapped.code === 'origin_forbidden' ? blockedAddress(where, { viaRedirect: true, cause: error }) : mapped);
          });
        };
        start();
      });
    },
  };
}

/**
 * A kept-alive socket the origin closed just as it was reused: the request failed before any
 * answer, through no fault of the origin, and a fresh connection will do.
 */
function isStaleSocket(error: unknown, reusedSocket: boolean, response: Response | undefined): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return reusedSocket && response === undefined && (code === 'ECONNRESET' || code === 'EPIPE');
}

function header(response: Response, name: string): string | undefined {
  const value = response.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function abortError(signal: AbortSignal, where: string): ImageCloudError {
  if (signal.reason instanceof ImageCloudError) return signal.reason;
  return new ImageCloudError('origin_timeout', `The download from the origin ${where} was aborted before it finished.`, {
    cause: signal.reason,
  });
}

function validateOptions(options: OriginFetcherOptions): void {
  const positive = ['maxBytes', 'connectTimeoutMs', 'responseTimeoutMs', 'totalTimeoutMs'] as const;
  for (const key of positive) {
    const value = options[key];
    if (!Number.isFinite(value) || value <= 0) throw new Error(`createOriginFetcher: ${key} must be a positive number.`);
  }
  if (!Number.isInteger(options.maxRedirects) || options.maxRedirects < 0) {
    throw new Error('createOriginFetcher: maxRedirects must be a non-negative integer.');
  }
}
