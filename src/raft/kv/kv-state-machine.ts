/**
 * A tiny replicated key-value map: the example StateMachine used by the node
 * process, the tests and the benchmark.
 *
 * Command (codec varints/strings): op byte (1 = put), key string, value bytes.
 * Result of a put: the index it was applied at (varint), so a client can see
 * where its write landed.
 * Snapshot: varint count, then (key, value) pairs in key order.
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';
import type { StateMachine } from '../driver/state-machine.ts';
import type { Entry } from '../types.ts';

const OP_PUT = 1;

export function encodePut(key: string, value: Uint8Array): Uint8Array {
  const w = new Writer(key.length + value.length + 8);
  w.byte(OP_PUT);
  w.string(key);
  w.bytes(value);
  return w.finish();
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
    const w = new Writer(8);
    w.varuint(entry.index);
    return w.finish();
  }

  get(key: string): Uint8Array | undefined {
    return this.map.get(key);
  }

  size(): number {
    return this.map.size;
  }

  snapshot(): Uint8Array {
    const w = new Writer(1024);
    const keys = [...this.map.keys()].sort();
    w.varuint(keys.length);
    for (const key of keys) {
      w.string(key);
      w.bytes(this.map.get(key)!);
    }
    return w.finish();
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
