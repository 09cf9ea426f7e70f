import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isHttpUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { parseAllowList } from './address-policy';
import { blockedAddress, isBlockedLiteral } from './check-literal-host';
import { describeOrigin } from './describe-origin';
import { mapFetchError } from './map-fetch-error';
import type { FetchedOriginal, FetchOriginOptions, OriginFetcher, OriginFetcherOptions } from './origin-fetcher-types';
import { parseOriginUrl } from './parse-origin-url';
import { watchPhases } from './phase-timeouts';
import { redirectLocation, resolveRedirect, type Credentials } from './redirect-target';
import { refuseResponse } from './refuse-response';
import { createVettedLookup } from './vetted-lookup';

/**
 * The origin downloader, on node:http/https directly (a client library cost a fraction of a
 * millisecond of CPU and up to a millisecond of latency per download): a vetted DNS lookup and
 * IP-literal checks on every hop (SSRF), redirects followed by hand, no retries (the queue retries)
 * but the one for a stale kept-alive socket, no decompression, lookup/connect/TLS/response timeouts
 * per hop and a total deadline over all hops, and a byte cap enforced from Content-Length and while
 * streaming. Every failure is an ImageCloudError whose message names the origin by host and path only.
 */
export function createOriginFetcher(options: OriginFetcherOptions): OriginFetcher {
  validateOptions(options);
  const allowList = parseAllowList(options.allowPrivateOrigins);
  const lookup = createVettedLookup(options.allowPrivateOrigins) as http.AgentOptions['lookup'];
  // Dedicated agents: no keep-alive sockets shared with unvetted clients, and the vetted lookup set
  // on both, so an http→https redirect cannot swap to an unfiltered agent. Connections are kept
  // alive: a saturated domain's slots download back to back, and a new TCP connection per image
  // cost a tenth of the prefetch throughput. A kept socket was connected to a vetted address; Node
  // drops it before the origin's announced Keep-Alive timeout, and a reused socket that the origin
  // closed anyway is retried once on a fresh connection (below).
  const agentOptions = { keepAlive: true, lookup };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);
  const headers = {
    'user-agent': options.userAgent,
    'accept-encoding': 'identity',
    accept: 'image/*,*/*;q=0.8',
  };
  const budgets = { connectTimeoutMs: options.connectTimeoutMs, responseTimeoutMs: options.responseTimeoutMs };

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
        let settled = false;
        /** The request whose answer is awaited; destroyed, socket and all, when the fetch fails. */
        let current: ClientRequest | undefined;
        let cancelPhases = (): void => undefined;
        /** Redirect bodies still being read off their sockets so the sockets can be reused. */
        const draining = new Set<IncomingMessage>();
        let redirects = 0;
        let credentials: Credentials = { username: url.username, password: url.password };
        let mayRetryStaleSocket = true;

        const cleanup = (): void => {
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
          cancelPhases();
          for (const response of draining) response.destroy();
        };
        const fail = (error: ImageCloudError): void => {
          if (settled) return;
          settled = true;
          cleanup();
          current?.destroy();
          reject(error);
        };
        /** A net/tls/http error or a phase timeout, as the registry's error. */
        const failWith = (error: unknown): void => {
          const mapped = mapFetchError(error, where);
          // The lookup refused a host the origin redirected to: that target is not to be named.
          fail(redirects > 0 && mapped.code === 'origin_forbidden' ? blockedAddress(where, { viaRedirect: true, cause: error }) : mapped);
        };
        const onAbort = (): void => {
          if (signal) fail(abortError(signal, where));
        };
        // The phase timeouts restart on each hop; this one covers the whole download.
        const deadline = setTimeout(() => {
          fail(
            new ImageCloudError(
              'origin_timeout',
              `The origin ${where} did not deliver the image within ${options.totalTimeoutMs} ms.`,
            ),
          );
        }, options.totalTimeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });

        const followRedirect = (response: IncomingMessage, location: string, from: URL): void => {
          // Read to its end, unused, so that the kept-alive socket goes back to the agent.
          draining.add(response);
          response.once('close', () => draining.delete(response));
          response.resume();
          current = undefined;
          if (redirects >= options.maxRedirects) {
            failWith(Object.assign(new Error(`Redirected ${options.maxRedirects} times.`), { code: 'ERR_TOO_MANY_REDIRECTS' }));
            return;
          }
          let next: URL;
          try {
            ({ url: next, credentials } = resolveRedirect(location, from, credentials));
          } catch (error) {
            failWith(error);
            return;
          }
          redirects++;
          if (!isHttpUrl(next)) {
            fail(
              new ImageCloudError('origin_error', `The origin ${where} redirected to a URL that is not http or https.`, {
                retryable: false,
              }),
            );
            return;
          }
          if (isBlockedLiteral(next, allowList)) {
            fail(blockedAddress(where, { viaRedirect: true }));
            return;
          }
          // A short body is read first, so the next hop to the same origin can take its socket instead of
          // opening another connection (the socket is back in the agent by the response's 'close', not
          // yet at its 'end'); a long or unannounced body is left to drain alongside.
          if (hasShortBody(response)) response.once('close', () => settled || send(next));
          else send(next);
        };

        const download = (response: IncomingMessage, from: URL): void => {
          const refusal = refuseResponse(response, where, options.maxBytes);
          if (refusal) {
            fail(refusal);
            return;
          }
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (chunk: Buffer) => {
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
          response.on('end', () => {
            if (settled) return;
            settled = true;
            cleanup();
            resolve({
              bytes: Buffer.concat(chunks, received),
              status: response.statusCode ?? 0,
              contentType: header(response, 'content-type'),
              etag: header(response, 'etag'),
              lastModified: header(response, 'last-modified'),
              finalUrl: from.href,
            });
          });
          // The origin closed the connection mid-body (ECONNRESET), or the socket failed.
          response.on('error', (error) => {
            if (!settled) failWith(error);
          });
        };

        const send = (target: URL): void => {
          const request = (target.protocol === 'https:' ? https : http).request(target, {
            agent: target.protocol === 'https:' ? httpsAgent : httpAgent,
            headers,
            lookup,
          });
          current = request;
          cancelPhases = watchPhases(request, target, budgets, failWith);
          let answered = false;
          // Stays attached after settling: destroying a request may still report an error.
          request.on('error', (error: NodeJS.ErrnoException) => {
            if (settled || request !== current) return;
            const staleSocket = !answered && request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
            if (staleSocket && mayRetryStaleSocket) {
              mayRetryStaleSocket = false;
              cancelPhases();
              send(target);
              return;
            }
            failWith(error);
          });
          request.on('response', (response: IncomingMessage) => {
            answered = true;
            if (settled) return;
            const location = redirectLocation(response);
            if (location === undefined) download(response, target);
            else followRedirect(response, location, target);
          });
          request.end();
        };
        send(url);
      });
    },
  };
}

/** Bodies up to this size are read before the next redirect hop is sent (see followRedirect). */
const SHORT_REDIRECT_BODY_BYTES = 64 * 1024;

function hasShortBody(response: IncomingMessage): boolean {
  const declared = response.headers['content-length'];
  return declared !== undefined && /^\d+$/.test(declared.trim()) && Number(declared) <= SHORT_REDIRECT_BODY_BYTES;
}

function header(response: IncomingMessage, name: string): string | undefined {
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
