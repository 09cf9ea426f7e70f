import { z } from 'zod';

/**
 * A request id: taken from the client's X-Request-Id when it is one of these (so a request can be
 * followed across systems), otherwise made by the server. It travels in the jobs the request
 * queues, so worker log lines name the request; it is never a metric label.
 */
export const requestIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore, at most 64');
