import { type IncomingHttpHeaders, get } from 'node:http';

/** What a client got: a complete HTTP answer, or 'reset' when the connection failed before one arrived. */
export type HttpOutcome = { status: number; headers: IncomingHttpHeaders; body: Buffer } | { status: 'reset'; error: string };

/**
 * GET on a connection of its own (no keep-alive pool), with every header as sent (fetch hides
 * hop-by-hop ones such as Connection). Never rejects: a connection error is an outcome.
 */
export function httpGet(url: string): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', (error) => resolve({ status: 'reset', error: error.message }));
      response.on('close', () => (response.complete ? undefined : resolve({ status: 'reset', error: 'connection closed mid-answer' })));
    });
    request.on('error', (error) => resolve({ status: 'reset', error: error.message }));
  });
}
