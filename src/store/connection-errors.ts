/**
 * Which pg errors mean "the database cannot be reached or cannot serve now"
 * (the caller should retry later and loses nothing) as opposed to a bug in a
 * statement. Only the first kind becomes UnavailableError; the rest propagate
 * unchanged, because retrying a broken statement never helps.
 */

/** Socket-level failures from node:net and DNS. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATE classes and codes that name the connection or the server, not the
 * statement: 08 connection exception, 57P01-57P05 shutdown and "cannot connect
 * now", 53300 too many connections, 28 authentication (the server refuses
 * this user: a configuration problem, but the statement is not at fault),
 * 3D000 the database does not exist.
 */
const UNAVAILABLE_SQLSTATE_PREFIXES = ['08', '57P', '28'];
const UNAVAILABLE_SQLSTATES = new Set(['53300', '3D000']);

/** Messages pg and pg-pool give for a lost or timed-out connection (they carry no code). */
const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout expired/i,
  /timeout exceeded when trying to connect/i,
  /query read timeout/i,
  /connection error/i,
  /not queryable/i,
  /cannot use a pool after calling end/i,
];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

export function isUnavailableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as ErrorLike;
  if (typeof code === 'string') {
    if (NETWORK_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE_PREFIXES.some((prefix) => code.startsWith(prefix))) return true;
  }
  // node:net reports a host with several addresses as an AggregateError of per-address failures.
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isUnavailableError)) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message));
}

/** A one-line description of a connection failure: pg's message, or the per-address messages of an AggregateError (whose own message is empty). */
export function describeConnectionError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { message, errors, code } = error as ErrorLike;
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(errors) && errors.length > 0) return errors.map(describeConnectionError).join('; ');
  return typeof code === 'string' ? code : 'unknown error';
}
