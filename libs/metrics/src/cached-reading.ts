/**
 * Wraps an expensive read so that calls within `ttlMs` of the last one share its result (and a
 * read in flight is shared too): many scrapers, or a status page polling, cost Redis one read.
 */
export function cachedReading<T>(read: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (last && now() - last.at < ttlMs) return last.value;
    const value = read();
    const entry = { at: now(), value };
    last = entry;
    // A failed read is not reused: the next scrape tries again.
    value.catch(() => {
      if (last === entry) last = undefined;
    });
    return value;
  };
}
