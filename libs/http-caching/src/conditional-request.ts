/** What a stored representation is validated by: its strong ETag and when it was made. */
export interface Validators {
  etag: string;
  lastModified: Date;
}

/** The request's conditional headers, as received. */
export interface ConditionalHeaders {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/** `W/"x"` and `"x"` are the same tag under weak comparison, which RFC 9110 §13.1.2 prescribes for If-None-Match. */
function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** The entity tags of an If-None-Match list; commas inside a quoted tag do not split it. */
function entityTags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
}

/** Last-Modified has whole seconds only: compare at that precision. */
function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * True when a GET or HEAD may be answered 304 Not Modified (RFC 9110 §13.2.2): If-None-Match
 * decides whenever it is present (weak comparison, `*` matches any stored representation), and
 * If-Modified-Since counts only without it; a date that does not parse is ignored.
 */
export function isNotModified(headers: ConditionalHeaders, validators: Validators): boolean {
  if (headers.ifNoneMatch !== undefined) {
    const ours = opaqueTag(validators.etag);
    return entityTags(headers.ifNoneMatch).some((tag) => tag === '*' || opaqueTag(tag) === ours);
  }
  if (headers.ifModifiedSince === undefined) return false;
  const since = Date.parse(headers.ifModifiedSince);
  if (Number.isNaN(since)) return false;
  return wholeSeconds(validators.lastModified) <= Math.floor(since / 1000);
}

/** The IMF-fixdate form HTTP dates take (`Last-Modified`). */
export function httpDate(date: Date): string {
  return date.toUTCString();
}
