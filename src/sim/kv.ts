import { InvalidArgumentError } from '../errors/index.ts';

/** The replicated state machine of the simulation: a map of string registers. */
export interface PutCommand {
  readonly opId: string; // unique per client operation; lets the client recognise its entry
  readonly key: string;
  readonly value: string;
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

export class KvStore {
  private readonly registers = new Map<string, string>();

  apply(command: PutCommand): void {
    this.registers.set(command.key, command.value);
  }

  get(key: string): string | null {
    return this.registers.get(key) ?? null;
  }

  encodeSnapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.registers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  }

  static fromSnapshot(data: Uint8Array): KvStore {
    const store = new KvStore();
    if (data.length === 0) return store;
    for (const [key, value] of JSON.parse(decoder.decode(data)) as [string, string][]) store.registers.set(key, value);
    return store;
  }
}
