/**
 * Exactly-once application of client requests (Raft dissertation, section
 * 6.3): wraps an application StateMachine and remembers, per client, the
 * result of each request it applied until the client says it has the answer.
 * A request proposed again (a client retrying after a lost reply, a timeout
 * or a leader change) is then answered with the result it had the first
 * time instead of being applied twice.
 *
 * Everything here is replicated state: every replica applies the same
 * commands in the same order, so the tables, their eviction order and the
 * snapshot bytes are the same everywhere.
 *
 * A client first registers (a command of its own); its id is made from the
 * index of that entry, so an id this table does not hold was never issued
 * or was forgotten: its requests are refused ('unknown-client'), never
 * taken as new, and none can apply twice.
 *
 * Bounds (both deterministic, so replicas agree):
 * - results per client: beyond `resultsPerClient_max` the lowest seq is
 *   forgotten and the client's floor rises past it; a retry below the floor
 *   is answered 'stale' and not applied (its outcome cannot be told any more);
 * - clients: beyond `clients_max` the client used least recently is
 *   forgotten; its later requests are answered 'unknown-client' and it must
 *   register again (requests it had not had answered stay unknown).
 */
import { assert, CorruptFileError } from '../../errors/index.ts';
import { Reader, Writer } from '../codec.ts';
import type { StateMachine } from '../state-machine.ts';
import type { Entry } from '../types.ts';
import { clientIdBytesOf, decodeForClient, decodeSessionCommand, encodeSessionResult, type SessionResult } from './envelope.ts';

/** Starts a snapshot that carries client sessions; one without it is the bare application state. */
const SNAPSHOT_MAGIC = new TextEncoder().encode('ZKONCE01');

export interface ExactlyOnceOptions {
  readonly clients_max?: number;
  readonly resultsPerClient_max?: number;
}

interface ClientState {
  /** Results of every seq below this were forgotten. */
  floor: number;
  /** seq -> the application's result, for applied requests at or above the floor. */
  readonly results: Map<number, Uint8Array>;
}

export interface ExactlyOnceStats {
  readonly clients: number;
  readonly duplicates: number;
  readonly stale: number;
  readonly unknownClient: number;
}

export class ExactlyOnceStateMachine<S extends StateMachine = StateMachine> implements StateMachine {
  /** Least recently used first (a use moves a client to the end). */
  private readonly clients = new Map<string, ClientState>();
  private readonly clients_max: number;
  private readonly resultsPerClient_max: number;
  private duplicates = 0;
  private stale = 0;
  private unknown = 0;
  /**
   * The client used last: already at the end of the LRU order, and its id's
   * encoded bytes, so that its next command is recognised without decoding
   * the id or hashing it (most puts come from a few busy clients).
   */
  private last: { readonly idBytes: Uint8Array; readonly state: ClientState } | null = null;

  constructor(
    readonly inner: S,
    options: ExactlyOnceOptions = {},
  ) {
    this.clients_max = options.clients_max ?? 10_000;
    this.resultsPerClient_max = options.resultsPerClient_max ?? 65_536;
    assert(this.clients_max >= 1 && this.resultsPerClient_max >= 1, 'exactly-once bounds must be at least 1');
  }

  apply(entry: Entry): Uint8Array {
    const fast = this.last === null ? null : decodeForClient(entry.data, this.last.idBytes);
    if (fast !== null) return encodeSessionResult(this.applyInSession(entry, this.last!.state, fast.seq, fast.ackedBelow, fast.command));
    const command = decodeSessionCommand(entry.data, `command at index ${entry.index}`);
    if (command.kind === 'plain') return encodeSessionResult({ status: 'applied', result: this.inner.apply({ ...entry, data: command.command }) });
    if (command.kind === 'register') return encodeSessionResult({ status: 'applied', result: new TextEncoder().encode(this.register(entry.index)) });
    const client = this.clients.get(command.tag.clientId);
    if (client === undefined) {
      this.unknown++;
      return encodeSessionResult({ status: 'unknown-client' });
    }
    this.makeMostRecent(command.tag.clientId, client, entry.data);
    return encodeSessionResult(this.applyInSession(entry, client, command.tag.seq, command.tag.ackedBelow, command.command));
  }

  /** A new session; its id names the entry that opened it, so no two are alike and none is reused. */
  private register(index: number): string {
    const clientId = `s${index}`;
    assert(!this.clients.has(clientId), () => `session ${clientId} registered twice`);
    this.clients.set(clientId, { floor: 0, results: new Map() });
    if (this.clients.size > this.clients_max) this.clients.delete(this.clients.keys().next().value!);
    this.last = null; // the LRU order changed; the fast path re-learns its client
    return clientId;
  }

  /** Moves a known client to the end of the LRU order and remembers it for apply()'s fast path. */
  private makeMostRecent(clientId: string, client: ClientState, data: Uint8Array): void {
    this.clients.delete(clientId);
    this.clients.set(clientId, client);
    this.last = { idBytes: clientIdBytesOf(data).slice(), state: client };
  }

  private applyInSession(entry: Entry, client: ClientState, seq: number, ackedBelow: number, command: Uint8Array): SessionResult {
    if (ackedBelow > client.floor) forgetBelow(client, ackedBelow);
    if (seq < client.floor) {
      this.stale++;
      return { status: 'stale' };
    }
    const earlier = client.results.get(seq);
    if (earlier !== undefined) {
      this.duplicates++;
      return { status: 'duplicate', result: earlier };
    }
    const result = this.inner.apply({ ...entry, data: command });
    client.results.set(seq, result);
    if (client.results.size > this.resultsPerClient_max) trimResults(client, this.resultsPerClient_max);
    return { status: 'applied', result };
  }

  stats(): ExactlyOnceStats {
    return { clients: this.clients.size, duplicates: this.duplicates, stale: this.stale, unknownClient: this.unknown };
  }

  snapshot(): Uint8Array | Promise<Uint8Array> {
    // The sessions as of now: written out here, synchronously, in the same
    // turn as the application captures its own point-in-time view below.
    const w = new Writer(64 + this.clients.size * 48);
    for (const b of SNAPSHOT_MAGIC) w.byte(b);
    w.varuint(this.clients.size);
    for (const [clientId, client] of this.clients) {
      w.string(clientId);
      w.varuint(client.floor);
      w.varuint(client.results.size);
      for (const [seq, result] of client.results) {
        w.varuint(seq);
        w.bytes(result);
      }
    }
    const sessions = w.finish();
    const inner = this.inner.snapshot();
    const join = (application: Uint8Array): Uint8Array => {
      const out = new Uint8Array(sessions.length + application.length);
      out.set(sessions, 0);
      out.set(application, sessions.length);
      return out;
    };
    return inner instanceof Uint8Array ? join(inner) : inner.then(join);
  }

  restore(data: Uint8Array): void {
    this.clients.clear();
    this.last = null;
    if (!startsWithMagic(data)) {
      // The bare application state: the empty bootstrap snapshot, or one
      // written before sessions existed. No request is remembered.
      this.inner.restore(data);
      return;
    }
    const r = new Reader(data.subarray(SNAPSHOT_MAGIC.length), 'exactly-once snapshot');
    const count = r.varuint();
    for (let i = 0; i < count; i++) {
      const clientId = r.string();
      const floor = r.varuint();
      const resultCount = r.varuint();
      const results = new Map<number, Uint8Array>();
      for (let j = 0; j < resultCount; j++) {
        const seq = r.varuint();
        if (seq < floor) throw new CorruptFileError(`exactly-once snapshot: client ${JSON.stringify(clientId)} keeps seq ${seq} below its floor ${floor}`);
        results.set(seq, r.bytes().slice());
      }
      if (this.clients.has(clientId)) throw new CorruptFileError(`exactly-once snapshot: client ${JSON.stringify(clientId)} appears twice`);
      this.clients.set(clientId, { floor, results });
    }
    this.inner.restore(r.rest());
  }
}

/**
 * Raises the floor and drops the results below it. Each seq number is passed
 * once as the floor rises, so this costs O(1) per request overall; a jump
 * larger than what is kept sweeps the kept results instead. (Not by walking
 * the map from its first key: after many deletions that walk skips every
 * deleted slot in V8, and made batched commits twice as slow.)
 */
function forgetBelow(client: ClientState, floor: number): void {
  if (floor - client.floor <= client.results.size) {
    for (let seq = client.floor; seq < floor; seq++) client.results.delete(seq);
  } else {
    for (const seq of client.results.keys()) if (seq < floor) client.results.delete(seq);
  }
  client.floor = floor;
}

/** Over the bound: forget the lowest kept result and raise the floor past it. */
function trimResults(client: ClientState, results_max: number): void {
  while (client.results.size > results_max) {
    let lowest = client.floor;
    // Usually the floor itself or just above it; if not near, find the minimum.
    while (!client.results.has(lowest) && lowest - client.floor < 64) lowest++;
    if (!client.results.has(lowest)) {
      lowest = Number.POSITIVE_INFINITY;
      for (const seq of client.results.keys()) if (seq < lowest) lowest = seq;
    }
    forgetBelow(client, lowest + 1);
  }
}

function startsWithMagic(data: Uint8Array): boolean {
  if (data.length < SNAPSHOT_MAGIC.length) return false;
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) if (data[i] !== SNAPSHOT_MAGIC[i]) return false;
  return true;
}
