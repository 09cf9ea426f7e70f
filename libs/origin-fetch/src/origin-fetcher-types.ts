export interface OriginFetcherOptions {
  /** Byte cap, enforced from Content-Length before reading and while streaming. */
  maxBytes: number;
  /** DNS lookup + TCP connect (+ TLS handshake), each, e.g. 2000. */
  connectTimeoutMs: number;
  /** Time from sending the request to the first response byte, e.g. 5000. */
  responseTimeoutMs: number;
  /** The whole download including every redirect hop, e.g. 15000. */
  totalTimeoutMs: number;
  /** Redirects followed before giving up, e.g. 3. */
  maxRedirects: number;
  userAgent: string;
  /** CIDRs (e.g. "127.0.0.0/8") allowed although private/loopback/link-local. */
  allowPrivateOrigins: string[];
}

export interface FetchedOriginal {
  bytes: Buffer;
  status: number;
  contentType?: string;
  etag?: string;
  lastModified?: string;
  /** The URL the bytes came from, after redirects. */
  finalUrl: string;
}

export interface FetchOriginOptions {
  /** Aborting destroys the download and rejects. */
  signal?: AbortSignal;
}

export interface OriginFetcher {
  /** Downloads an original; rejects with an ImageCloudError (see map-fetch-error.ts for the codes). */
  fetch(url: string, options?: FetchOriginOptions): Promise<FetchedOriginal>;
}
