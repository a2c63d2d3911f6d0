import { InvalidArgumentError } from '../errors/index.ts';
import type { StateMachine } from '../raft/state-machine.ts';
import type { Entry } from '../raft/types.ts';

/** The replicated state machine of the simulation: a map of string registers. */
export interface PutCommand {
  readonly opId: string; // unique per client operation; lets the client recognise its entry
  readonly key: string;
  readonly value: string;
}

/** A register's value and the log index of the put that wrote it. */
export interface Register {
  readonly value: string;
  readonly index: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePut(command: PutCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodePut(data: Uint8Array): PutCommand {
  const parsed = JSON.parse(decoder.decode(data)) as Partial<PutCommand>;
  if (typeof parsed.opId !== 'string' || typeof parsed.key !== 'string' || typeof parsed.value !== 'string') {
    throw new InvalidArgumentError('simulated put command is malformed');
  }
  return { opId: parsed.opId, key: parsed.key, value: parsed.value };
}

/** What a put answers its proposer: where it was applied (so a client knows which entry its acknowledgement stands for). */
export function encodePutResult(index: number, term: number): Uint8Array {
  return encoder.encode(`${index}:${term}`);
}

export function decodePutResult(data: Uint8Array): { index: number; term: number } {
  const [index, term] = decoder.decode(data).split(':').map(Number);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(term)) throw new InvalidArgumentError('simulated put result is malformed');
  return { index: index!, term: term! };
}

export class KvStore {
  private readonly registers = new Map<string, Register>();

  apply(command: PutCommand, index: number): void {
    this.registers.set(command.key, { value: command.value, index });
  }

  get(key: string): string | null {
    return this.registers.get(key)?.value ?? null;
  }

  register(key: string): Register | undefined {
    return this.registers.get(key);
  }

  encodeSnapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.registers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  static fromSnapshot(data: Uint8Array): KvStore {
    const store = new KvStore();
    if (data.length === 0) return store;
    for (const [key, register] of JSON.parse(decoder.decode(data)) as [string, Register][]) store.registers.set(key, register);
    return store;
  }
}

/**
 * The register store as the application StateMachine that production's
 * ExactlyOnceStateMachine (src/raft/sessions/exactly-once.ts) wraps in the
 * simulator: a put's result is where it was applied (encodePutResult), its
 * snapshot the store's. `onApply` sees every put the session layer lets
 * through (the at-most-once check).
 */
export class SimKvMachine implements StateMachine {
  store = new KvStore();

  constructor(private readonly onApply: (command: PutCommand, entry: Entry) => void) {}

  apply(entry: Entry): Uint8Array {
    const command = decodePut(entry.data);
    this.onApply(command, entry);
    this.store.apply(command, entry.index);
    return encodePutResult(entry.index, entry.term);
  }

  snapshot(): Uint8Array {
    return this.store.encodeSnapshot();
  }

  restore(data: Uint8Array): void {
    this.store = KvStore.fromSnapshot(data);
  }
}
