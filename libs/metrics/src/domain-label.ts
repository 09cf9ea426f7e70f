/** The label value of every origin host that is not a configured domain. */
export const OTHER_DOMAIN = 'other';

/**
 * Bounds the `domain` label: an origin URL's host counts as the configured domain it is, or the
 * closest configured parent of (the keys of CONFIG `domains`, like the download caps), and every
 * other host as `other`, so a crawl over a million hosts still makes one series per listed domain.
 */
export function domainLabeller(configuredDomains: Iterable<string>): (url: string) => string {
  const listed = new Set([...configuredDomains].filter((domain) => domain !== 'default').map((domain) => domain.toLowerCase()));
  return (url) => {
    let host: string;
    try {
      host = new URL(url).hostname.toLowerCase().replace(/\.$/, '');
    } catch {
      return OTHER_DOMAIN;
    }
    for (let candidate = host; candidate.includes('.'); candidate = candidate.slice(candidate.indexOf('.') + 1)) {
      if (listed.has(candidate)) return candidate;
    }
    return listed.has(host) ? host : OTHER_DOMAIN;
  };
}
