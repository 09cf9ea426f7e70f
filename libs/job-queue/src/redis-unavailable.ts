import { ImageCloudError } from '@image-cloud/errors';

/** Runs a Redis operation of the request path; a connection failure becomes 503 `unavailable`. */
export async function orUnavailable<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof ImageCloudError) throw error;
    throw new ImageCloudError('unavailable', 'The queue is unreachable right now; try again shortly.', {
      retryAfterSeconds: 5,
      cause: error,
    });
  }
}
