import { NotLeaderError } from '../errors/index.ts';
import type { NodeId } from '../raft/types.ts';
import type { DurabilityChecker } from './durability.ts';
import { decodePutResult, encodePut } from './kv.ts';
import type { RegisterOp } from './linearizability.ts';
import type { SimNode } from './node.ts';
import type { Prng } from '../random/prng.ts';

interface PendingOp {
  readonly kind: 'put' | 'get';
  readonly opId: string;
  readonly key: string;
  readonly value: string | null; // the put's value
  readonly node: NodeId;
  readonly call_time: number;
  readonly deadline_tick: number;
}

/**
 * Simulated clients of the replicated register store. Each has at most one
 * operation outstanding, made through the node's Ready loop as a service
 * would: a put (propose, answered once applied there) on the node it believes
 * leads, or a get (readIndex, then a read of that node's state machine). An
 * operation with no answer by its deadline, or an answer that leaves its
 * outcome unknown, counts as unknown: a put stays in the history with an
 * infinite return time, a get is left out.
 */
export class SimClients {
  readonly history: RegisterOp[] = [];
  private readonly pending = new Map<string, PendingOp>();
  private readonly leaderGuess = new Map<string, NodeId>();
  private clock = 0; // logical time of calls and returns, shared by all clients
  private nextOpId = 0;
  completed = 0;
  timedOut = 0;

  constructor(
    private readonly clientIds: readonly string[],
    private readonly keys: readonly string[],
    private readonly prng: Prng,
    private readonly timeout_ticks: number,
    private readonly durability: DurabilityChecker,
  ) {}

  /** Starts new operations for idle clients (with some probability) and expires old ones. */
  step(now_tick: number, nodes: ReadonlyMap<NodeId, SimNode>, startProbability: number): void {
    for (const clientId of this.clientIds) {
      const pending = this.pending.get(clientId);
      if (pending !== undefined) {
        if (now_tick >= pending.deadline_tick) this.unknown(clientId, pending);
        continue;
      }
      if (this.prng.chance(startProbability)) this.start(clientId, now_tick, nodes);
    }
  }

  private start(clientId: string, now_tick: number, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const nodeId = this.leaderGuess.get(clientId) ?? this.prng.pick([...nodes.keys()]);
    const node = nodes.get(nodeId);
    if (node === undefined || node.loop === null || node.paused) {
      this.leaderGuess.delete(clientId); // connection refused: try someone else next time
      return;
    }
    const key = this.prng.pick(this.keys);
    const isPut = this.prng.chance(0.5);
    const opId = `${clientId}.${this.nextOpId++}`;
    const value = isPut ? `v${this.nextOpId}` : null;
    const op: PendingOp = {
      kind: isPut ? 'put' : 'get',
      opId,
      key,
      value,
      node: nodeId,
      call_time: ++this.clock,
      deadline_tick: now_tick + this.timeout_ticks,
    };
    this.pending.set(clientId, op);
    let inCall = true;
    const refused = (error: Error): void => {
      if (!inCall || !(error instanceof NotLeaderError)) {
        this.answered(clientId, op, 'unknown');
        return;
      }
      // Refused before anything was appended or queued: the operation never started. Follow the hint.
      this.pending.delete(clientId);
      if (error.leaderId !== null && nodes.has(error.leaderId)) this.leaderGuess.set(clientId, error.leaderId);
      else this.leaderGuess.delete(clientId);
    };
    node.turn((loop) => {
      if (isPut) {
        const acknowledged = (result: Uint8Array): void => {
          if (this.pending.get(clientId) !== op) return;
          const { index, term } = decodePutResult(result);
          this.durability.onAcknowledged({ opId, key, value: value!, index, term, ackTerm: loop.core.status().term, node: nodeId });
          this.answered(clientId, op, value);
        };
        loop.propose(encodePut({ opId, key, value: value! }), acknowledged, refused);
      } else loop.readIndex(() => this.answered(clientId, op, node.kv.get(key)), refused);
      inCall = false;
    });
  }

  /** The node answered `op` (a put's value, a get's read, or 'unknown'). Answers to operations given up on are ignored. */
  private answered(clientId: string, op: PendingOp, result: string | null | 'unknown'): void {
    if (this.pending.get(clientId) !== op) return;
    if (result === 'unknown') {
      this.unknown(clientId, op);
      return;
    }
    this.pending.delete(clientId);
    this.completed++;
    this.history.push({ id: this.history.length, clientId, key: op.key, kind: op.kind, value: result, call_time: op.call_time, ret_time: ++this.clock });
  }

  private unknown(clientId: string, op: PendingOp): void {
    this.pending.delete(clientId);
    this.leaderGuess.delete(clientId);
    this.timedOut++;
    if (op.kind === 'put') {
      this.history.push({ id: this.history.length, clientId, key: op.key, kind: 'put', value: op.value, call_time: op.call_time, ret_time: Infinity });
    }
  }

  /** Ends the run: everything still pending has an unknown outcome. */
  finish(): void {
    for (const [clientId, op] of [...this.pending]) this.unknown(clientId, op);
  }
}
