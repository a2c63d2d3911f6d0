/**
 * The store's one input from configuration: a postgresql:// URL. Errors and
 * logs name the database by its URL with any password replaced by ***, so a
 * message can be pasted into an issue as it is.
 */
import { InvalidArgumentError } from '../errors/index.ts';

const URL_PROTOCOLS = new Set(['postgres:', 'postgresql:']);
/** Query parameters libpq and pg read as secrets. */
const SECRET_PARAMETERS = ['password', 'sslpassword', 'sslkey'];

/** Checks that `url` is a postgres:// or postgresql:// URL with a host; throws InvalidArgumentError naming the problem (never echoing a password). */
export function checkDatabaseUrl(url: string): void {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new InvalidArgumentError('the database URL is empty; give a postgresql://user@host:port/database URL (store.databaseUrl or DATABASE_URL)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError('the database URL is not a valid URL; expected postgresql://user@host:port/database');
  }
  if (!URL_PROTOCOLS.has(parsed.protocol)) {
    throw new InvalidArgumentError(`the database URL ${redactDatabaseUrl(url)} has scheme "${parsed.protocol}"; expected postgresql:// or postgres://`);
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
    throw new InvalidArgumentError(`the database URL ${redactDatabaseUrl(url)} names no host`);
  }
}

/** `url` with its password (and password-like query parameters) replaced by ***; a string that does not parse becomes a placeholder. */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '<unparsable database URL>';
  }
  if (parsed.password !== '') parsed.password = '***';
  for (const name of SECRET_PARAMETERS) {
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
  }
  // URL escapes the asterisks it was given; show them as written.
  return parsed.toString().replaceAll('%2A%2A%2A', '***');
}
