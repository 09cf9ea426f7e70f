/** Longest wait honoured from an origin's Retry-After; a hostile origin must not park jobs for days. */
export const MAX_RETRY_AFTER_SECONDS = 3600;

/**
 * Seconds from a Retry-After header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at
 * MAX_RETRY_AFTER_SECONDS. Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  let seconds: number;
  if (/^\d+$/.test(text)) seconds = Number(text);
  else {
    // HTTP-dates (IMF-fixdate, RFC 850, asctime) all start with a day name; Date.parse alone would read "-5" as a year.
    if (!/^[A-Za-z]{3}/.test(text)) return undefined;
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    seconds = Math.max(0, Math.ceil((date - now) / 1000));
  }
  return Math.min(seconds, MAX_RETRY_AFTER_SECONDS);
}
