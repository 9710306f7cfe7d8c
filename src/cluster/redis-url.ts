// `--redis URL`: where the cluster's Redis is, parsed and checked before anything connects, and
// the same URL as it may be printed: with its password replaced, never in clear.

/** Where Redis listens and how to log in. */
export interface RedisEndpoint {
  /** TCP: a host name or a numeric address (IPv6 without brackets), and a port. */
  host?: string;
  port?: number;
  /** A unix socket's path (instead of host and port). */
  path?: string;
  username?: string;
  password?: string;
  database?: number;
  /** The URL as messages may show it: the password, if any, is `***`. */
  shown: string;
}

/** Redis' own default port. */
export const REDIS_DEFAULT_PORT = 6379;
/** What a password is shown as. */
const HIDDEN = '***';

export const REDIS_URL_FORMS = 'redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH/TO/redis.sock[?password=PASSWORD&db=DB]';

/** A --redis value that is not a Redis URL. The message never holds the password. */
export class RedisUrlError extends Error {}

/** Parses a --redis URL; throws RedisUrlError with a message safe to print. */
export function parseRedisUrl(text: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError(`--redis must be ${REDIS_URL_FORMS}, got '${redactUrl(text)}'`);
  }
  const shown = redactUrl(text);
  const bad = (why: string): RedisUrlError => new RedisUrlError(`--redis ${shown}: ${why} (expected ${REDIS_URL_FORMS})`);
  if (url.protocol === 'redis:') {
    if (url.hostname === '') throw bad('no host');
    if (url.search !== '' || url.hash !== '') throw bad('unexpected query or fragment');
    const database = url.pathname === '' || url.pathname === '/' ? undefined : databaseNumber(url.pathname.slice(1), bad);
    return {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? REDIS_DEFAULT_PORT : Number(url.port),
      ...credentials(decode(url.username, bad), decode(url.password, bad)),
      ...(database === undefined ? {} : { database }),
      shown,
    };
  }
  if (url.protocol === 'unix:') {
    if (url.hostname !== '' || url.username !== '' || url.password !== '') throw bad('a unix socket URL has no host: unix:///PATH');
    if (!url.pathname.startsWith('/') || url.pathname === '/') throw bad('no socket path');
    for (const key of url.searchParams.keys()) {
      if (key !== 'password' && key !== 'db' && key !== 'user') throw bad(`unknown parameter '${key}'`);
    }
    const db = url.searchParams.get('db');
    return {
      path: decode(url.pathname, bad),
      ...credentials(url.searchParams.get('user') ?? '', url.searchParams.get('password') ?? ''),
      ...(db === null ? {} : { database: databaseNumber(db, bad) }),
      shown,
    };
  }
  throw bad(`unknown scheme '${url.protocol}'`);
}

/** text with the password of every Redis URL in it replaced by ***: for any message that may
 *  quote a URL (an error from a library, a usage error). */
export function redactUrl(text: string): string {
  // Up to the last '@' of the word: a password may hold an unencoded '@'. Userinfo without a ':'
  // is hidden whole, in case it was meant as a password.
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:)\S*@/gi, `$1${HIDDEN}@`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^:@/\s]+@/gi, `$1${HIDDEN}@`)
    .replace(/([?&]password=)[^&#\s]*/gi, `$1${HIDDEN}`);
}

/** message with every occurrence of the password (plain or URL-encoded) replaced by ***. */
export function scrubPassword(message: string, endpoint: RedisEndpoint): string {
  const password = endpoint.password;
  if (password === undefined || password === '') return redactUrl(message);
  let scrubbed = redactUrl(message);
  for (const form of new Set([password, encodeURIComponent(password)])) scrubbed = scrubbed.split(form).join(HIDDEN);
  return scrubbed;
}

function credentials(username: string, password: string): { username?: string; password?: string } {
  return { ...(username === '' ? {} : { username }), ...(password === '' ? {} : { password }) };
}

function decode(part: string, bad: (why: string) => RedisUrlError): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad('bad percent-encoding');
  }
}

function databaseNumber(text: string, bad: (why: string) => RedisUrlError): number {
  if (!/^\d{1,5}$/.test(text)) throw bad(`the database must be a number, got '${text}'`);
  return Number(text);
}
