/** A request in flight whose answer (status, body read) and end time can be looked at before it settles. */
export interface Tracked {
  readonly done: Promise<{ status: number; body: Buffer; headers: Headers }>;
  /** performance.now() when the answer was complete; undefined while it is not. */
  endedAt(): number | undefined;
}

/** Starts `request` and records when its whole answer has arrived (-1 status when it failed). */
export function track(request: Promise<Response>): Tracked {
  let ended: number | undefined;
  const done = request
    .then(async (response) => ({ status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers }))
    .catch(() => ({ status: -1, body: Buffer.alloc(0), headers: new Headers() }))
    .finally(() => {
      ended = performance.now();
    });
  return { done, endedAt: () => ended };
}

export { waitUntil } from '@image-cloud/testing';
