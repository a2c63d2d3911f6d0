/**
 * Value types of config keys: parsing from text (flags, environment) or from
 * JSON (the config file), validation, and the canonical text form that
 * `zkp config --print` shows. A parser throws ValueError with what is wrong;
 * the loader adds the key and the source.
 */

/** A bad value; the loader names the key and where the value came from. */
export class ValueError extends Error {}

export interface PeerAddresses {
  /** host:port of the peer's Raft transport. */
  readonly raftAddress: string;
  /** host:port where clients reach the peer (named in leader redirects). */
  readonly clientAddress: string;
}

export type ValueType =
  | { readonly kind: 'string'; readonly pattern?: RegExp; readonly patternText?: string }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'hostPort'; readonly portZeroOk?: boolean }
  | { readonly kind: 'hostPortList' }
  | { readonly kind: 'enumList'; readonly values: readonly string[] }
  | { readonly kind: 'url'; readonly protocols: readonly string[]; readonly emptyOk: boolean }
  | { readonly kind: 'path' }
  | { readonly kind: 'peers' };

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const PEER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses `raw` (text, or a JSON value from a file) as `type`. */
export function parseValue(type: ValueType, raw: unknown): unknown {
  switch (type.kind) {
    case 'string': {
      const text = scalarText(raw);
      if (type.pattern !== undefined && !type.pattern.test(text))
        throw new ValueError(`${JSON.stringify(text)} is not ${type.patternText ?? `like ${type.pattern}`}`);
      return text;
    }
    case 'path': {
      const text = scalarText(raw);
      if (text === '') throw new ValueError('a path must not be empty');
      return text;
    }
    case 'int':
      return parseInteger(raw, type.min, type.max);
    case 'bool':
      return parseBoolean(raw);
    case 'enum': {
      const text = scalarText(raw);
      if (!type.values.includes(text)) throw new ValueError(`${JSON.stringify(text)} is not one of ${type.values.join(', ')}`);
      return text;
    }
    case 'hostPort':
      return parseHostPort(scalarText(raw), type.portZeroOk ?? false);
    case 'hostPortList':
      return listItems(raw).map((item) => parseHostPort(item, false));
    case 'enumList': {
      const items = listItems(raw);
      const seen = new Set<string>();
      for (const item of items) {
        if (!type.values.includes(item)) throw new ValueError(`${JSON.stringify(item)} is not one of ${type.values.join(', ')}`);
        if (seen.has(item)) throw new ValueError(`${JSON.stringify(item)} is listed twice`);
        seen.add(item);
      }
      return items;
    }
    case 'url':
      return parseUrl(scalarText(raw), type.protocols, type.emptyOk);
    case 'peers':
      return parsePeers(raw);
  }
}

/** The text form of a parsed value (what --print shows and what a flag would take). */
export function formatValue(type: ValueType, value: unknown): string {
  switch (type.kind) {
    case 'hostPortList':
    case 'enumList':
      return (value as readonly string[]).join(',');
    case 'peers':
      return [...(value as ReadonlyMap<string, PeerAddresses>)].map(([id, peer]) => `${id}@${peer.raftAddress}/${peer.clientAddress}`).join(',');
    default:
      return String(value);
  }
}

/** What values of this type look like, for docs and errors. */
export function describeType(type: ValueType): string {
  switch (type.kind) {
    case 'string':
      return type.patternText ?? 'text';
    case 'path':
      return 'path';
    case 'int':
      return `integer ${type.min}..${type.max}`;
    case 'bool':
      return 'true|false';
    case 'enum':
      return type.values.join('|');
    case 'hostPort':
      return type.portZeroOk ? 'host:port (port 0: any free port)' : 'host:port';
    case 'hostPortList':
      return 'host:port,host:port,...';
    case 'enumList':
      return `list of ${type.values.join('|')}, comma-separated`;
    case 'url':
      return `${type.protocols.map((p) => `${p}//`).join(' or ')} URL${type.emptyOk ? ' (empty: none)' : ''}`;
    case 'peers':
      return 'id@raftHost:port/clientHost:port,...';
  }
}

function scalarText(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new ValueError(`expected a single value, got ${JSON.stringify(raw)}`);
}

function parseInteger(raw: unknown, min: number, max: number): number {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else {
    const text = scalarText(raw);
    // Plain decimal digits (an optional sign and _ separators): "1e3", "0x10", "12ms" and "" are refused.
    if (!/^[-+]?\d[\d_]*$/.test(text)) throw new ValueError(`${JSON.stringify(text)} is not an integer`);
    value = Number(text.replaceAll('_', ''));
  }
  if (!Number.isSafeInteger(value)) throw new ValueError(`${JSON.stringify(raw)} is not an integer`);
  if (value < min || value > max) throw new ValueError(`${value} is out of range ${min}..${max}`);
  return value;
}

function parseBoolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = scalarText(raw).toLowerCase();
  if (text === 'true' || text === '1' || text === 'yes' || text === 'on') return true;
  if (text === 'false' || text === '0' || text === 'no' || text === 'off') return false;
  throw new ValueError(`${JSON.stringify(raw)} is not a boolean (true/false, 1/0, yes/no, on/off)`);
}

export function parseHostPort(text: string, portZeroOk: boolean): string {
  const match = HOST_PORT.exec(text);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(port >= (portZeroOk ? 0 : 1) && port <= 65535)) throw new ValueError(`${JSON.stringify(text)} is not host:port`);
  return text;
}

/** A list: a comma-separated text (items trimmed, empty items dropped) or a JSON array of strings. */
function listItems(raw: unknown): string[] {
  if (Array.isArray(raw)) {
    return raw.map((item) => {
      if (typeof item !== 'string') throw new ValueError(`list items must be strings, got ${JSON.stringify(item)}`);
      return item.trim();
    });
  }
  return scalarText(raw)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function parseUrl(text: string, protocols: readonly string[], emptyOk: boolean): string {
  if (text === '') {
    if (emptyOk) return '';
    throw new ValueError('a URL is needed');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueError('it is not a valid URL');
  }
  // Never echo the URL: it may hold a password.
  if (!protocols.includes(url.protocol)) throw new ValueError(`the scheme "${url.protocol}" is not ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return text;
}

function parsePeers(raw: unknown): ReadonlyMap<string, PeerAddresses> {
  const peers = new Map<string, PeerAddresses>();
  for (const item of listItems(raw)) {
    const at = item.indexOf('@');
    const slash = item.indexOf('/', at + 1);
    const id = item.slice(0, at);
    if (at < 0 || slash < 0 || !PEER_ID.test(id)) throw new ValueError(`${JSON.stringify(item)} is not id@raftHost:port/clientHost:port`);
    const raftAddress = parseHostPort(item.slice(at + 1, slash), false);
    const clientAddress = parseHostPort(item.slice(slash + 1), false);
    if (peers.has(id)) throw new ValueError(`node ${id} is listed twice`);
    peers.set(id, { raftAddress, clientAddress });
  }
  if (peers.size === 0) throw new ValueError('the list is empty');
  return peers;
}

/** Redacts a URL's password for display. */
export function redactUrl(text: string): string {
  if (text === '') return text;
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    for (const name of ['password', 'sslpassword', 'sslkey']) if (url.searchParams.has(name)) url.searchParams.set(name, '***');
    return url.toString();
  } catch {
    return '<unparsable URL>';
  }
}
