/**
 * The wire form of commands and results of ExactlyOnceStateMachine
 * (exactly-once.ts).
 *
 * Command: tag byte, then
 *   0 (plain): the application's command bytes (rest of the entry);
 *   1 (in a session): client id string, seq varint, acked-below varint, then
 *     the application's command bytes (rest of the entry);
 *   2 (register): nothing; opens a session, whose id is the result.
 * Result: status byte, then
 *   0 (applied now) or 1 (a duplicate: applied before, this is the result it
 *     had then): the application's result bytes (rest); for a register, the
 *     new client id (UTF-8);
 *   2 (stale): nothing; the request is below the client's acknowledged floor
 *     and was not applied now (it was answered before, or the client gave up
 *     on it, or its result was evicted);
 *   3 (unknown client): nothing; no session has this id (never registered,
 *     or forgotten to make room for newer ones); the request was not applied.
 */
import { CorruptFileError, InvalidArgumentError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';

/** Which request of which client a command is. */
export interface SessionTag {
  /** Chosen by the client, unique among clients (e.g. 128 random bits in hex). */
  readonly clientId: string;
  /** The client's request number: 1, 2, 3, ...; a retry keeps its number. */
  readonly seq: number;
  /** Every request of this client below this number has been answered: its result may be forgotten. */
  readonly ackedBelow: number;
}

export type SessionCommand =
  | { readonly kind: 'plain'; readonly command: Uint8Array }
  | { readonly kind: 'session'; readonly tag: SessionTag; readonly command: Uint8Array }
  | { readonly kind: 'register' };

export type SessionResult =
  | { readonly status: 'applied' | 'duplicate'; readonly result: Uint8Array }
  | { readonly status: 'stale' }
  | { readonly status: 'unknown-client' };

const PLAIN = 0;
const IN_SESSION = 1;
const REGISTER = 2;
const APPLIED = 0;
const DUPLICATE = 1;
const STALE = 2;
const UNKNOWN_CLIENT = 3;
export const CLIENT_ID_CHARS_MAX = 128;

export function encodePlainCommand(command: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + command.length);
  out[0] = PLAIN;
  out.set(command, 1);
  return out;
}

/** Opens a client session: the result (status applied) is the new client id. */
export function encodeRegisterCommand(): Uint8Array {
  return Uint8Array.of(REGISTER);
}

export function encodeSessionCommand(tag: SessionTag, command: Uint8Array): Uint8Array {
  const w = new Writer(sessionHeaderBytesMax(tag) + command.length);
  writeSessionHeader(w, tag);
  w.raw(command);
  return w.finish();
}

/** Room enough for a session command's header (the caller adds its command's size). */
export function sessionHeaderBytesMax(tag: SessionTag): number {
  return 1 + 10 + tag.clientId.length * 3 + 20;
}

/**
 * Writes a session command's header; the application's command follows it
 * in the same writer (one allocation for the whole entry: this runs for
 * every put of a session client, 100,000/s batched).
 */
export function writeSessionHeader(w: Writer, tag: SessionTag): void {
  checkTag(tag);
  w.byte(IN_SESSION);
  w.string(tag.clientId);
  w.varuint(tag.seq);
  w.varuint(tag.ackedBelow);
}

/** Refuses a tag that could never be valid, with the reason (the client's bug, not the cluster's). */
export function checkTag(tag: SessionTag): void {
  if (tag.clientId.length === 0 || tag.clientId.length > CLIENT_ID_CHARS_MAX)
    throw new InvalidArgumentError(`session client id must be 1 to ${CLIENT_ID_CHARS_MAX} characters, got ${tag.clientId.length}`);
  if (!Number.isSafeInteger(tag.seq) || tag.seq < 1) throw new InvalidArgumentError(`session seq must be an integer >= 1, got ${tag.seq}`);
  if (!Number.isSafeInteger(tag.ackedBelow) || tag.ackedBelow < 0 || tag.ackedBelow > tag.seq) {
    throw new InvalidArgumentError(`session acked-below must be an integer from 0 to the request's seq (${tag.seq}), got ${tag.ackedBelow}`);
  }
}

export function decodeSessionCommand(data: Uint8Array, what: string): SessionCommand {
  // Runs for every applied entry on every node: the plain case creates no reader.
  const kind = data.length === 0 ? -1 : data[0]!;
  if (kind === PLAIN) return { kind: 'plain', command: data.subarray(1) };
  if (kind === REGISTER) {
    if (data.length !== 1) throw new CorruptFileError(`${what}: a register command carries nothing, got ${data.length - 1} more bytes`);
    return { kind: 'register' };
  }
  if (kind !== IN_SESSION) throw new CorruptFileError(`${what}: unknown command tag ${kind} (not written by ExactlyOnceStateMachine's encoder?)`);
  const r = new Reader(data, what);
  r.byte();
  const clientId = r.string();
  const seq = r.varuint();
  const ackedBelow = r.varuint();
  return { kind: 'session', tag: { clientId, seq, ackedBelow }, command: r.rest() };
}

export function encodeSessionResult(result: SessionResult): Uint8Array {
  if (result.status === 'stale') return Uint8Array.of(STALE);
  if (result.status === 'unknown-client') return Uint8Array.of(UNKNOWN_CLIENT);
  const out = new Uint8Array(1 + result.result.length);
  out[0] = result.status === 'applied' ? APPLIED : DUPLICATE;
  out.set(result.result, 1);
  return out;
}

export function decodeSessionResult(data: Uint8Array): SessionResult {
  const status = data.length === 0 ? -1 : data[0]!;
  if (status === APPLIED || status === DUPLICATE) return { status: status === APPLIED ? 'applied' : 'duplicate', result: data.subarray(1) };
  if (status === STALE && data.length === 1) return { status: 'stale' };
  if (status === UNKNOWN_CLIENT && data.length === 1) return { status: 'unknown-client' };
  throw new CorruptFileError(`session result: status byte ${status} with ${data.length} bytes is not one ExactlyOnceStateMachine writes`);
}

/** The encoded client id (without its length) of a session command that decodeSessionCommand has accepted. */
export function clientIdBytesOf(data: Uint8Array): Uint8Array {
  const r = new Reader(data, 'session command');
  r.byte(); // the command tag
  return r.bytes();
}

/**
 * The fast path of ExactlyOnceStateMachine.apply(): if `data` is a session command of the client
 * whose encoded id is `idBytes`, its seq, acked-below and command, read
 * without a Reader or a string; otherwise null (the caller decodes it fully,
 * with all the checks). Only well-formed varints of up to 7 bytes are taken.
 */
export function decodeForClient(data: Uint8Array, idBytes: Uint8Array): { seq: number; ackedBelow: number; command: Uint8Array } | null {
  const n = idBytes.length;
  if (n >= 0x80 || data.length < 2 + n || data[0] !== IN_SESSION || data[1] !== n) return null;
  for (let i = 0; i < n; i++) if (data[2 + i] !== idBytes[i]) return null;
  let at = 2 + n;
  // Two varints, read inline rather than by a Reader: this runs for nearly
  // every applied entry, and a Reader (a view per field) cost about 0.2 us
  // more per apply; a closure here costs an allocation per apply.
  let seq = 0;
  let ackedBelow = 0;
  for (let field = 0; field < 2; field++) {
    let value = 0;
    let scale = 1;
    let done = false;
    for (let i = 0; i < 7 && at < data.length; i++) {
      const b = data[at++]!;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        done = true;
        break;
      }
      scale *= 0x80;
    }
    if (!done) return null;
    if (field === 0) seq = value;
    else ackedBelow = value;
  }
  return { seq, ackedBelow, command: data.subarray(at) };
}
