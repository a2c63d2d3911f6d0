/**
 * Exactly-once client sessions under the simulator: each simulated process
 * runs production's ExactlyOnceStateMachine (src/raft/sessions/) around the
 * register store (kv.ts), snapshots and restores included, and two checks
 * watch it:
 *
 * - at most once: a put (one client request, however often its client sent
 *   it) reaches the register store at one log index only. A retry that lands
 *   at a second index must be answered from the session table, never
 *   applied again;
 * - replicas agree: every node's state machine answers the entry at an index
 *   with the same bytes (the session layer's decisions are replicated state:
 *   a node whose table differs, e.g. one not restored from a snapshot,
 *   answers differently).
 *
 * Planted bugs (`npm run sim -- --bug NAME`; docs/raft.md has a seed that
 * catches each), made around the production classes rather than in them:
 * - sessions-not-restored: restore() restores the application's state but
 *   leaves the session table as it was (empty in a process that just
 *   started; stale in one that installs a leader's snapshot);
 * - dedup-disabled: a request in a session is applied every time it is
 *   committed: the table's 'duplicate' and 'stale' answers are ignored
 *   (an unknown client is still refused).
 */
import { decodeSessionCommand, decodeSessionResult, encodeSessionResult } from '../raft/sessions/envelope.ts';
import { ExactlyOnceStateMachine } from '../raft/sessions/exactly-once.ts';
import type { StateMachine } from '../raft/state-machine.ts';
import type { Entry } from '../raft/types.ts';
import { assert } from '../errors/index.ts';
import { SafetyViolation } from './checkers.ts';
import { type KvStore, type PutCommand, SimKvMachine } from './kv.ts';

export const SESSION_BUGS = ['sessions-not-restored', 'dedup-disabled'] as const;
export type SessionBug = (typeof SESSION_BUGS)[number];

/** One process's replicated state: production's session table around the register store. */
export class SimStateMachine implements StateMachine {
  private readonly kv: SimKvMachine;
  private readonly sessions: ExactlyOnceStateMachine<SimKvMachine>;

  constructor(
    /** The node and its incarnation, for the checks' messages. */
    private readonly node: string,
    private readonly checker: ExactlyOnceChecker,
    private readonly bug: SessionBug | null,
  ) {
    this.kv = new SimKvMachine((command, entry) => checker.onPutApplied(node, command, entry));
    this.sessions = new ExactlyOnceStateMachine(this.kv);
  }

  /** The registers, for reads and the durability checker. */
  get store(): KvStore {
    return this.kv.store;
  }

  apply(entry: Entry): Uint8Array {
    let result = this.sessions.apply(entry);
    if (this.bug === 'dedup-disabled') {
      // The table is kept but its verdict ignored: a request it knows (duplicate or stale) is applied again.
      // Unknown clients stay refused, as the table never held them.
      const status = decodeSessionResult(result).status;
      if (status === 'duplicate' || status === 'stale') {
        const command = decodeSessionCommand(entry.data, `command at index ${entry.index}`);
        assert(command.kind === 'session', 'only a session command is answered duplicate or stale');
        result = encodeSessionResult({ status: 'applied', result: this.kv.apply({ ...entry, data: command.command }) });
      }
    }
    this.checker.onResult(this.node, entry.index, result);
    return result;
  }

  snapshot(): Uint8Array | Promise<Uint8Array> {
    return this.sessions.snapshot();
  }

  restore(data: Uint8Array): void {
    if (this.bug === 'sessions-not-restored') {
      // Read by the production code, but only the application's part kept: this process's table stays as it was.
      new ExactlyOnceStateMachine(this.kv).restore(data);
      return;
    }
    this.sessions.restore(data);
  }
}

/** The two checks above, across every node and every restart of a run. */
export class ExactlyOnceChecker {
  /** Put (opId) -> the log index it was applied at. */
  private readonly appliedAt = new Map<string, number>();
  /** Log index -> the state machine's answer to it, as the first node to apply it gave it. */
  private readonly results = new Map<number, { readonly node: string; readonly result: Uint8Array }>();

  onPutApplied(node: string, command: PutCommand, entry: Entry): void {
    const first = this.appliedAt.get(command.opId);
    if (first === undefined) this.appliedAt.set(command.opId, entry.index);
    else if (first !== entry.index) {
      throw new SafetyViolation(
        'exactly once',
        `${node} applied put ${command.opId} (${command.key}=${command.value}) again at index ${entry.index}; it was applied at ${first}`,
      );
    }
  }

  onResult(node: string, index: number, result: Uint8Array): void {
    const first = this.results.get(index);
    if (first === undefined) {
      this.results.set(index, { node, result: result.slice() });
      return;
    }
    if (Buffer.compare(first.result, result) !== 0) {
      throw new SafetyViolation(
        'replicas agree',
        `${node} answered the entry at ${index} with ${describeResult(result)}, ${first.node} with ${describeResult(first.result)}`,
      );
    }
  }
}

function describeResult(data: Uint8Array): string {
  const result = decodeSessionResult(data);
  if (result.status === 'stale' || result.status === 'unknown-client') return result.status;
  return `${result.status} ${JSON.stringify(new TextDecoder().decode(result.result))}`;
}
