/** Where the cloud's Redis is: one server (or a proxy) at a URL, or a primary that Sentinels name. */
export type RedisAddress =
  | { kind: 'direct'; url: string }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      /** The master name the Sentinels monitor. */
      name: string;
      username?: string;
      password?: string;
      /** Password of the Sentinels themselves, when they have one (`requirepass` in sentinel.conf). */
      sentinelPassword?: string;
      db: number;
    };

export const SENTINEL_URL_FORM = 'redis-sentinel://[[user]:password@]host:port[,host:port…]/masterName[?db=N&sentinelPassword=…]';
const DEFAULT_SENTINEL_PORT = 26_379;

/** A REDIS_URL that cannot be used; the message says what is wrong with it (never the password). */
export class RedisAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisAddressError';
  }
}

/**
 * Reads REDIS_URL. `redis://` and `rediss://` go to ioredis unchanged (it parses them itself);
 * `redis-sentinel://` lists the Sentinels and the master name, and clients ask the Sentinels for the
 * current primary on every (re)connection, so a failover only costs a reconnect.
 */
export function parseRedisAddress(url: string): RedisAddress {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RedisAddressError(`not a valid ${scheme}:// URL`);
    }
    if (!parsed.hostname) throw new RedisAddressError(`${scheme}:// URL has no host`);
    return { kind: 'direct', url };
  }
  if (scheme === 'redis-sentinel') return parseSentinelUrl(url);
  throw new RedisAddressError(`expected a redis://, rediss:// or redis-sentinel:// URL${scheme ? ` (got ${scheme}://)` : ''}`);
}

function parseSentinelUrl(url: string): RedisAddress {
  const match = /^redis-sentinel:\/\/(?:([^@/]*)@)?([^/?#]*)(?:\/([^/?#]*))?(?:\?([^#]*))?$/i.exec(url);
  if (!match) throw new RedisAddressError(`redis-sentinel URL must look like ${SENTINEL_URL_FORM}`);
  const [, userInfo, hostList = '', rawName = '', query = ''] = match;
  const sentinels = hostList.split(',').map(parseSentinelHost);
  const name = decode(rawName, 'master name');
  if (!name) throw new RedisAddressError(`redis-sentinel URL names no master: add /<masterName> after the Sentinels (${SENTINEL_URL_FORM})`);

  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'db' && key !== 'sentinelPassword') throw new RedisAddressError(`redis-sentinel URL has an unknown parameter "${key}" (known: db, sentinelPassword)`);
  }
  const dbText = params.get('db') ?? '0';
  if (!/^\d{1,5}$/.test(dbText)) throw new RedisAddressError(`redis-sentinel URL: db must be a number (got "${dbText}")`);

  const address: RedisAddress = { kind: 'sentinel', sentinels, name, db: Number(dbText) };
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    const username = decode(colon < 0 ? userInfo : userInfo.slice(0, colon), 'user name');
    const password = colon < 0 ? '' : decode(userInfo.slice(colon + 1), 'password');
    if (username) address.username = username;
    if (password) address.password = password;
  }
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelPassword) address.sentinelPassword = sentinelPassword;
  return address;
}

function parseSentinelHost(entry: string): { host: string; port: number } {
  // [::1]:26379, host:26379 or a bare host (the Sentinel port, 26379).
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/i.exec(entry);
  if (!match) throw new RedisAddressError(`redis-sentinel URL: "${entry}" is not a host:port (Sentinels are listed as host:port,host:port)`);
  const port = match[3] === undefined ? DEFAULT_SENTINEL_PORT : Number(match[3]);
  if (port < 1 || port > 65_535) throw new RedisAddressError(`redis-sentinel URL: port ${port} of "${entry}" is out of range`);
  return { host: match[1] ?? match[2]!, port };
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisAddressError(`redis-sentinel URL: the ${what} is not valid percent-encoding`);
  }
}
