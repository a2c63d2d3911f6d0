/**
 * Compact binary encoding of the Raft types for the log and the wire.
 *
 * Layout rules (every value is self-delimiting, so records can be concatenated):
 * - unsigned integers: LEB128 varints (7 bits per byte, low first), up to 2^53-1;
 * - strings: varint byte length + UTF-8; byte arrays: varint length + bytes;
 * - enums: one byte (the index in the tables below; the tables are append-only);
 * - optional Message fields: a varint bit mask says which follow, in field order.
 *
 * Decoding checks every length against the bytes left and every enum against its
 * table, and throws CorruptFileError naming what was wrong and where; callers
 * that read from the network rewrap it as they see fit.
 */
import { assert, CorruptFileError } from '../errors/index.ts';
import type { ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata } from './types.ts';

const ENTRY_TYPES: readonly EntryType[] = ['normal', 'noop', 'conf-change'];
const MESSAGE_TYPES: readonly MessageType[] = [
  'pre-vote',
  'pre-vote-resp',
  'vote',
  'vote-resp',
  'append',
  'append-resp',
  'heartbeat',
  'heartbeat-resp',
  'snapshot',
  'timeout-now',
  'read-index',
  'read-index-resp',
];

const TEXT_ENCODER = new TextEncoder();
/** Strings up to this many characters take the allocation-free ASCII path when they are ASCII. */
const SHORT_STRING_CHARS_MAX = 64;

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) >= 0x80) return false;
  return true;
}
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

/** Writes `value` as a varint at `at` (room already made); returns the offset after it. */
function putVaruint(buffer: Uint8Array, at: number, value: number): number {
  // Division rather than bit shifts: shifts would truncate values above 2^31.
  let rest = value;
  while (rest >= 0x80) {
    buffer[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  buffer[at++] = rest;
  return at;
}

/** A lone varint in an array of exactly its size (one allocation: for results made per applied entry). */
export function encodeVaruint(value: number): Uint8Array {
  assert(Number.isSafeInteger(value) && value >= 0, () => `varuint must be a non-negative safe integer, got ${value}`);
  let length = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) length++;
  const out = new Uint8Array(length);
  putVaruint(out, 0, value);
  return out;
}

/** Appends values to a growable buffer; `finish()` returns exactly the bytes written. */
export class Writer {
  private buffer: Uint8Array;
  private length = 0;

  constructor(capacity_bytes = 256) {
    assert(capacity_bytes > 0, 'writer capacity must be positive');
    this.buffer = new Uint8Array(capacity_bytes);
  }

  private reserve(more_bytes: number): void {
    const needed = this.length + more_bytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  byte(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, () => `byte out of range: ${value}`);
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  varuint(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, () => `varuint must be a non-negative safe integer, got ${value}`);
    this.reserve(8);
    this.length = putVaruint(this.buffer, this.length, value);
  }

  bytes(value: Uint8Array): void {
    this.varuint(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Bytes as they are, with no length: only as the last field of a record whose end marks theirs. */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  string(value: string): void {
    // Short ASCII strings (node ids, keys) are written in place: TextEncoder
    // would allocate an array per string, and every message carries two ids.
    const n = value.length;
    if (n <= SHORT_STRING_CHARS_MAX && isAscii(value)) {
      this.varuint(n);
      this.reserve(n);
      for (let i = 0; i < n; i++) this.buffer[this.length++] = value.charCodeAt(i);
      return;
    }
    this.bytes(TEXT_ENCODER.encode(value));
  }

  finish(): Uint8Array {
    // An exactly sized buffer is returned as it is: no second typed array per record.
    return this.length === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.length);
  }
}

/** Reads values back; every read checks the bytes left. `what` names the thing decoded, for errors. */
export class Reader {
  private offset = 0;
  private readonly buffer: Uint8Array;

  constructor(
    buffer: Uint8Array,
    private readonly what: string,
  ) {
    // A plain Uint8Array view, even over a Buffer: Buffer#slice does not copy,
    // and decoded values must be plain Uint8Arrays that own their bytes.
    this.buffer = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  private fail(problem: string): never {
    throw new CorruptFileError(`${this.what}: ${problem} at byte ${this.offset}`);
  }

  byte(): number {
    if (this.offset >= this.buffer.length) this.fail('unexpected end of data');
    return this.buffer[this.offset++]!;
  }

  varuint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) this.fail('varint above 2^53-1');
        return value;
      }
      scale *= 0x80;
    }
    return this.fail('varint longer than 8 bytes');
  }

  bytes(): Uint8Array {
    const length = this.varuint();
    if (length > this.remaining) this.fail(`length ${length} exceeds the ${this.remaining} bytes left`);
    const out = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): string {
    const length = this.varuint();
    if (length > this.remaining) this.fail(`length ${length} exceeds the ${this.remaining} bytes left`);
    if (length <= SHORT_STRING_CHARS_MAX) {
      // ASCII needs no decoder (and no view to decode from); UTF-8 of any other text has a byte >= 0x80.
      const start = this.offset;
      let text = '';
      let i = start;
      for (; i < start + length; i++) {
        const b = this.buffer[i]!;
        if (b >= 0x80) break;
        text += String.fromCharCode(b);
      }
      if (i === start + length) {
        this.offset = i;
        return text;
      }
    }
    const raw = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return TEXT_DECODER.decode(raw);
    } catch {
      return this.fail('invalid UTF-8 in string');
    }
  }

  enumOf<T>(table: readonly T[], name: string): T {
    const code = this.byte();
    const value = table[code];
    if (value === undefined) this.fail(`unknown ${name} code ${code}`);
    return value;
  }

  /** Everything not read yet, as a view (no copy); the reader is then at the end. */
  rest(): Uint8Array {
    const out = this.buffer.subarray(this.offset);
    this.offset = this.buffer.length;
    return out;
  }

  expectEnd(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} trailing bytes`);
  }
}

function enumCode<T>(table: readonly T[], value: T, name: string): number {
  const code = table.indexOf(value);
  assert(code >= 0, () => `unknown ${name}: ${String(value)}`);
  return code;
}

// ---- Entry ----

export function writeEntry(w: Writer, entry: Entry): void {
  w.byte(enumCode(ENTRY_TYPES, entry.type, 'entry type'));
  w.varuint(entry.index);
  w.varuint(entry.term);
  w.bytes(entry.data);
}

export function readEntry(r: Reader): Entry {
  const type = r.enumOf(ENTRY_TYPES, 'entry type');
  const index = r.varuint();
  const term = r.varuint();
  // Copy: the entry may outlive the (reused) read buffer it came from.
  const data = r.bytes().slice();
  return { type, index, term, data };
}

export function encodeEntry(entry: Entry): Uint8Array {
  const w = new Writer(entry.data.length + 24);
  writeEntry(w, entry);
  return w.finish();
}

export function decodeEntry(bytes: Uint8Array, what = 'entry'): Entry {
  const r = new Reader(bytes, what);
  const entry = readEntry(r);
  r.expectEnd();
  return entry;
}

// ---- HardState ----

export function writeHardState(w: Writer, state: HardState): void {
  w.varuint(state.term);
  if (state.vote === null) {
    w.byte(0);
  } else {
    w.byte(1);
    w.string(state.vote);
  }
  w.varuint(state.commit);
}

export function readHardState(r: Reader): HardState {
  const term = r.varuint();
  const hasVote = r.byte();
  const vote = hasVote === 1 ? r.string() : null;
  if (hasVote > 1) throw new CorruptFileError(`hard state: bad vote flag ${hasVote}`);
  const commit = r.varuint();
  return { term, vote, commit };
}

export function encodeHardState(state: HardState): Uint8Array {
  const w = new Writer(64);
  writeHardState(w, state);
  return w.finish();
}

export function decodeHardState(bytes: Uint8Array, what = 'hard state'): HardState {
  const r = new Reader(bytes, what);
  const state = readHardState(r);
  r.expectEnd();
  return state;
}

// ---- ConfState ----
// (Conf changes travel inside 'conf-change' entries in the core's own encoding: src/raft/core/conf-change.ts.)

function writeIds(w: Writer, ids: readonly string[]): void {
  w.varuint(ids.length);
  for (const id of ids) w.string(id);
}

function readIds(r: Reader): string[] {
  const count = r.varuint();
  if (count > r.remaining) throw new CorruptFileError(`node id count ${count} exceeds the bytes left`);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(r.string());
  return ids;
}

export function writeConfState(w: Writer, conf: ConfState): void {
  writeIds(w, conf.voters);
  writeIds(w, conf.learners);
}

export function readConfState(r: Reader): ConfState {
  const voters = readIds(r);
  const learners = readIds(r);
  return { voters, learners };
}

// ---- Snapshot ----

export function writeSnapshotMetadata(w: Writer, metadata: SnapshotMetadata): void {
  w.varuint(metadata.index);
  w.varuint(metadata.term);
  writeConfState(w, metadata.conf);
}

export function readSnapshotMetadata(r: Reader): SnapshotMetadata {
  const index = r.varuint();
  const term = r.varuint();
  const conf = readConfState(r);
  return { index, term, conf };
}

export function writeSnapshot(w: Writer, snapshot: Snapshot): void {
  writeSnapshotMetadata(w, snapshot.metadata);
  w.bytes(snapshot.data);
}

export function readSnapshot(r: Reader): Snapshot {
  const metadata = readSnapshotMetadata(r);
  const data = r.bytes().slice();
  return { metadata, data };
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const w = new Writer(snapshot.data.length + 64);
  writeSnapshot(w, snapshot);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array, what = 'snapshot'): Snapshot {
  const r = new Reader(bytes, what);
  const snapshot = readSnapshot(r);
  r.expectEnd();
  return snapshot;
}

// ---- Message ----

// Presence bits for the optional Message fields, in the order they are written.
const HAS_INDEX = 1 << 0;
const HAS_LOG_TERM = 1 << 1;
const HAS_ENTRIES = 1 << 2;
const HAS_COMMIT = 1 << 3;
const HAS_REJECT = 1 << 4;
const HAS_REJECT_HINT = 1 << 5;
const HAS_SNAPSHOT = 1 << 6;
const HAS_CONTEXT = 1 << 7;
const KNOWN_FIELDS = 0xff;

export function writeMessage(w: Writer, m: Message): void {
  w.byte(enumCode(MESSAGE_TYPES, m.type, 'message type'));
  w.string(m.from);
  w.string(m.to);
  w.varuint(m.term);
  let mask = 0;
  if (m.index !== undefined) mask |= HAS_INDEX;
  if (m.logTerm !== undefined) mask |= HAS_LOG_TERM;
  if (m.entries !== undefined) mask |= HAS_ENTRIES;
  if (m.commit !== undefined) mask |= HAS_COMMIT;
  if (m.reject !== undefined) mask |= HAS_REJECT;
  if (m.rejectHint !== undefined) mask |= HAS_REJECT_HINT;
  if (m.snapshot !== undefined) mask |= HAS_SNAPSHOT;
  if (m.context !== undefined) mask |= HAS_CONTEXT;
  w.varuint(mask);
  if (m.index !== undefined) w.varuint(m.index);
  if (m.logTerm !== undefined) w.varuint(m.logTerm);
  if (m.entries !== undefined) {
    w.varuint(m.entries.length);
    for (const e of m.entries) writeEntry(w, e);
  }
  if (m.commit !== undefined) w.varuint(m.commit);
  if (m.reject !== undefined) w.byte(m.reject ? 1 : 0);
  if (m.rejectHint !== undefined) w.varuint(m.rejectHint);
  if (m.snapshot !== undefined) writeSnapshot(w, m.snapshot);
  if (m.context !== undefined) w.bytes(m.context);
}

export function readMessage(r: Reader): Message {
  const type = r.enumOf(MESSAGE_TYPES, 'message type');
  const from = r.string();
  const to = r.string();
  const term = r.varuint();
  const mask = r.varuint();
  if ((mask & ~KNOWN_FIELDS) !== 0) throw new CorruptFileError(`message: unknown field bits 0x${mask.toString(16)}`);
  const m: {
    -readonly [K in keyof Message]: Message[K];
  } = { type, from, to, term };
  if (mask & HAS_INDEX) m.index = r.varuint();
  if (mask & HAS_LOG_TERM) m.logTerm = r.varuint();
  if (mask & HAS_ENTRIES) {
    const count = r.varuint();
    if (count > r.remaining) throw new CorruptFileError(`message: entry count ${count} exceeds the bytes left`);
    const entries: Entry[] = [];
    for (let i = 0; i < count; i++) entries.push(readEntry(r));
    m.entries = entries;
  }
  if (mask & HAS_COMMIT) m.commit = r.varuint();
  if (mask & HAS_REJECT) m.reject = r.byte() === 1;
  if (mask & HAS_REJECT_HINT) m.rejectHint = r.varuint();
  if (mask & HAS_SNAPSHOT) m.snapshot = readSnapshot(r);
  if (mask & HAS_CONTEXT) m.context = r.bytes().slice();
  return m;
}

/** A batch of messages (one transport frame): varint count, then the messages. */
export function encodeMessageBatch(messages: readonly Message[]): Uint8Array {
  const w = new Writer(256 * Math.max(1, messages.length));
  w.varuint(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.finish();
}

export function decodeMessageBatch(bytes: Uint8Array, what = 'message batch'): Message[] {
  const r = new Reader(bytes, what);
  const count = r.varuint();
  if (count > r.remaining) throw new CorruptFileError(`${what}: message count ${count} exceeds the bytes left`);
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) messages.push(readMessage(r));
  r.expectEnd();
  return messages;
}
