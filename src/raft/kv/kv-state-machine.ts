/**
 * A tiny replicated key-value map: the example StateMachine used by the node
 * process, the tests and the benchmark.
 *
 * Command (codec varints/strings): op byte (1 = put), key string, value bytes.
 * Result of a put: the index it was applied at (varint), so a client can see
 * where its write landed.
 * Snapshot: varint count, then (key, value) pairs in insertion order (the
 * same on every replica: each applies the same puts in the same order, and
 * restore() re-inserts in snapshot order).
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import { encodeVaruint, Reader, Writer } from '../codec.ts';
import type { StateMachine } from '../state-machine.ts';
import type { Entry } from '../types.ts';

const OP_PUT = 1;

/**
 * Keys serialised per slice of a snapshot; the event loop runs between slices.
 * About a millisecond of work for 64-byte values on a slow 2-core VM: one
 * synchronous snapshot of 60,000 keys took 90-150 ms there and stalled every
 * commit on all three nodes at once (they snapshot at the same index).
 */
const SNAPSHOT_SLICE_KEYS = 2048;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function encodePut(key: string, value: Uint8Array): Uint8Array {
  const w = new Writer(putBytesMax(key, value));
  writePut(w, key, value);
  return w.finish();
}

/** Room enough for a put command. */
export function putBytesMax(key: string, value: Uint8Array): number {
  return 1 + 10 + key.length * 3 + 10 + value.length;
}

/** Writes a put command into `w` (after a session header, for one allocation per entry). */
export function writePut(w: Writer, key: string, value: Uint8Array): void {
  w.byte(OP_PUT);
  w.string(key);
  w.bytes(value);
}

export class KvStateMachine implements StateMachine {
  private readonly map = new Map<string, Uint8Array>();
  applied_count = 0;

  apply(entry: Entry): Uint8Array {
    const r = new Reader(entry.data, `kv command at index ${entry.index}`);
    const op = r.byte();
    // Commands were validated by the proposer; an unknown one here is a bug or a newer writer.
    if (op !== OP_PUT) throw new InvalidArgumentError(`kv command at index ${entry.index}: unknown op ${op}`);
    const key = r.string();
    const value = r.bytes().slice();
    r.expectEnd();
    this.map.set(key, value);
    this.applied_count++;
    return encodeVaruint(entry.index); // the put's result: the index it was applied at
  }

  get(key: string): Uint8Array | undefined {
    return this.map.get(key);
  }

  size(): number {
    return this.map.size;
  }

  snapshot(): Promise<Uint8Array> {
    // The point-in-time view: two arrays of references (a few ms for 60,000
    // keys). Values are never changed in place (a put stores a new array), so
    // later puts cannot alter what this snapshot writes.
    const keys = [...this.map.keys()];
    const values = [...this.map.values()];
    return serializeInSlices(keys, values);
  }

  restore(data: Uint8Array): void {
    this.map.clear();
    if (data.length === 0) return; // the empty bootstrap snapshot
    const r = new Reader(data, 'kv snapshot');
    const count = r.varuint();
    for (let i = 0; i < count; i++) {
      const key = r.string();
      this.map.set(key, r.bytes().slice());
    }
    r.expectEnd();
  }
}

async function serializeInSlices(keys: readonly string[], values: readonly Uint8Array[]): Promise<Uint8Array> {
  let valueBytes = 0;
  for (const value of values) valueBytes += value.length;
  // Sized for ASCII keys and short length prefixes, so the writer rarely grows.
  const w = new Writer(16 + valueBytes + keys.length * 24);
  w.varuint(keys.length);
  for (let start = 0; start < keys.length; start += SNAPSHOT_SLICE_KEYS) {
    if (start > 0) await yieldToEventLoop();
    const end = Math.min(keys.length, start + SNAPSHOT_SLICE_KEYS);
    for (let i = start; i < end; i++) {
      w.string(keys[i]!);
      w.bytes(values[i]!);
    }
  }
  return w.finish();
}
