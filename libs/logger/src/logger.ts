export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_NAMES = '(?:token|signature|sig|access_token|api_key|sentinelPassword)';
const SECRET_QUERY_PARAMS = new RegExp(`([?&]${SECRET_NAMES}=)[^&#\\s"]*`, 'gi');
/** The same inside a percent-encoded URL, e.g. get_image's `url` parameter: `%3Ftoken%3D…` up to the next `%26` or `&`. */
const ENCODED_SECRET_PARAMS = new RegExp(`((?:%3F|%26)${SECRET_NAMES}%3D)(?:(?!%26)[^&#\\s"])*`, 'gi');
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;
/** The password of a URL with credentials, e.g. rediss://:secret@host or redis://user:secret@host. */
const URL_PASSWORD = /(\/\/[^:@/\s]*:)[^@/\s]+@/g;

/** Removes tokens, signatures and URL passwords from text that may end up in a log line. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_QUERY_PARAMS, '$1[redacted]').replace(ENCODED_SECRET_PARAMS, '$1[redacted]').replace(BEARER, '$1[redacted]').replace(URL_PASSWORD, '$1[redacted]@');
}

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: redactSecrets(value.message), ...(value.stack ? { stack: redactSecrets(value.stack) } : {}) };
  }
  if (typeof value === 'string') return redactSecrets(value);
  return value;
}

/**
 * One JSON object per line on stdout (stderr for warnings and errors), ready for any log shipper.
 * Every string passes through redactSecrets, so a token in a URL never reaches the log.
 */
export function createLogger(options: { level: LogLevel; name: string; fields?: LogFields; write?: (line: string, isError: boolean) => void }): Logger {
  const threshold = LEVEL_RANK[options.level];
  const write = options.write ?? ((line: string, isError: boolean) => (isError ? process.stderr : process.stdout).write(`${line}\n`));
  const base = { name: options.name, pid: process.pid, ...options.fields };

  const log = (level: Exclude<LogLevel, 'silent'>, message: string, fields: LogFields = {}) => {
    if (LEVEL_RANK[level] < threshold) return;
    const entry: LogFields = { time: new Date().toISOString(), level, ...base, msg: redactSecrets(message) };
    for (const [key, value] of Object.entries(fields)) entry[key] = serialize(value);
    write(JSON.stringify(entry), LEVEL_RANK[level] >= LEVEL_RANK.warn);
  };

  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (fields) => createLogger({ ...options, fields: { ...options.fields, ...fields } }),
  };
}
