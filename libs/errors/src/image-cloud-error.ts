import { ERROR_CODES, type ErrorCode, isErrorCode, isNegativelyCacheable } from './error-codes';

/** The JSON body of every error response: `{"error": code, "message": sentence}`. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
}

export interface ImageCloudErrorOptions {
  /** Overrides the registry's retryability, e.g. an origin 4xx that is final although mapped to 502. */
  retryable?: boolean;
  /** Seconds the client should wait before trying again (sent as `Retry-After`). */
  retryAfterSeconds?: number;
  /** HTTP status the origin answered, when the error is the origin's answer (429/503 back the domain off). */
  originStatus?: number;
  /**
   * Final for the image although the code usually is not (a `processing_timeout` in the big lane:
   * no lane has more budget): never retried, and remembered for the negative cache time.
   */
  final?: boolean;
  cause?: unknown;
}

/**
 * An error with a stable code from the registry. Its message is safe to show to clients: it never
 * contains tokens, stack traces or internal paths.
 */
export class ImageCloudError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  readonly originStatus?: number;
  /** True when the answer is final for the image and may be remembered briefly (negative caching). */
  readonly negativelyCacheable: boolean;

  constructor(code: ErrorCode, message: string, options: ImageCloudErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageCloudError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = options.final ? false : (options.retryable ?? ERROR_CODES[code].retryable);
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.originStatus = options.originStatus;
    this.negativelyCacheable = options.final === true || isNegativelyCacheable(code);
  }

  toBody(): ErrorBody {
    return { error: this.code, message: this.message };
  }

  /** The form that crosses Redis between worker and server. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.negativelyCacheable && !isNegativelyCacheable(this.code) ? { final: true } : {}),
      ...(this.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: this.retryAfterSeconds }),
    };
  }

  static fromJSON(value: unknown): ImageCloudError {
    const candidate = value as Partial<SerializedError> | null;
    if (candidate && isErrorCode(candidate.code) && typeof candidate.message === 'string') {
      return new ImageCloudError(candidate.code, candidate.message, {
        retryable: typeof candidate.retryable === 'boolean' ? candidate.retryable : undefined,
        retryAfterSeconds: typeof candidate.retryAfterSeconds === 'number' ? candidate.retryAfterSeconds : undefined,
        final: candidate.final === true,
      });
    }
    return new ImageCloudError('internal_error', 'The worker reported an error the server could not read.');
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** Set when the error is final for the image although its code usually is not. */
  final?: boolean;
  retryAfterSeconds?: number;
}

/** Seconds a client is asked to wait after a full or read-only store: eviction or an operator has to free space first. */
const STORAGE_RETRY_AFTER_SECONDS = 30;

/** Wraps anything thrown into an ImageCloudError; unknown errors become `internal_error` with a generic message. */
export function toImageCloudError(error: unknown): ImageCloudError {
  if (error instanceof ImageCloudError) return error;
  const systemCode = (error as NodeJS.ErrnoException | null)?.code;
  if (systemCode === 'ENOSPC' || systemCode === 'EROFS' || systemCode === 'EDQUOT') {
    return new ImageCloudError('insufficient_storage', `The image store cannot be written right now (${systemCode}); try again later.`, {
      cause: error,
      retryAfterSeconds: STORAGE_RETRY_AFTER_SECONDS,
    });
  }
  return new ImageCloudError('internal_error', 'An internal error occurred while handling the image.', { cause: error });
}
