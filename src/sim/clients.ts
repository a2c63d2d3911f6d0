import { NotLeaderError } from '../errors/index.ts';
import type { Entry, NodeId, ReadState } from '../raft/types.ts';
import { decodePut, encodePut } from './kv.ts';
import type { RegisterOp } from './linearizability.ts';
import type { SimNode } from './node.ts';
import type { Prng } from '../random/prng.ts';

interface PendingPut {
  readonly kind: 'put';
  readonly opId: string;
  readonly key: string;
  readonly value: string;
  readonly node: NodeId;
  readonly index: number;
  readonly call_time: number;
  readonly deadline_tick: number;
}

interface PendingGet {
  readonly kind: 'get';
  readonly contextHex: string;
  readonly key: string;
  readonly node: NodeId;
  readIndex: number | null; // set when the ReadState arrives; then wait until applied
  readonly call_time: number;
  readonly deadline_tick: number;
}

type Pending = PendingPut | PendingGet;

/**
 * Simulated clients of the replicated register store. Each has at most one
 * operation outstanding: a put proposed through the node it believes leads, or
 * a get through ReadIndex. An operation that times out has an unknown outcome:
 * a put stays in the history with an infinite return time, a get is dropped.
 */
export class SimClients {
  readonly history: RegisterOp[] = [];
  private readonly pending = new Map<string, Pending>();
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
  ) {}

  /** Starts new operations for idle clients (with some probability) and expires old ones. */
  step(now_tick: number, nodes: ReadonlyMap<NodeId, SimNode>, startProbability: number): void {
    for (const clientId of this.clientIds) {
      const pending = this.pending.get(clientId);
      if (pending !== undefined) {
        if (now_tick >= pending.deadline_tick) this.expire(clientId, pending);
        continue;
      }
      if (this.prng.chance(startProbability)) this.start(clientId, now_tick, nodes);
    }
  }

  private start(clientId: string, now_tick: number, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const nodeId = this.leaderGuess.get(clientId) ?? this.prng.pick([...nodes.keys()]);
    const node = nodes.get(nodeId);
    const core = node?.core;
    if (node === undefined || core === null || core === undefined || node.paused) {
      this.leaderGuess.delete(clientId); // connection refused: try someone else next time
      return;
    }
    const key = this.prng.pick(this.keys);
    try {
      if (this.prng.chance(0.5)) {
        const opId = `${clientId}.${this.nextOpId++}`;
        const value = `v${this.nextOpId}`;
        const call_time = ++this.clock;
        const { index } = core.propose(encodePut({ opId, key, value }));
        this.pending.set(clientId, { kind: 'put', opId, key, value, node: nodeId, index, call_time, deadline_tick: now_tick + this.timeout_ticks });
      } else {
        const contextHex = `${clientId}.${this.nextOpId++}`;
        const call_time = ++this.clock;
        core.readIndex(new TextEncoder().encode(contextHex));
        this.pending.set(clientId, { kind: 'get', contextHex, key, node: nodeId, readIndex: null, call_time, deadline_tick: now_tick + this.timeout_ticks });
      }
    } catch (error) {
      if (!(error instanceof NotLeaderError)) throw error;
      // Nothing was appended or queued: the operation never started. Follow the hint.
      if (error.leaderId !== null && nodes.has(error.leaderId)) this.leaderGuess.set(clientId, error.leaderId);
      else this.leaderGuess.delete(clientId);
    }
  }

  private expire(clientId: string, pending: Pending): void {
    this.pending.delete(clientId);
    this.leaderGuess.delete(clientId);
    this.timedOut++;
    if (pending.kind === 'put') {
      this.history.push({
        id: this.history.length,
        clientId,
        key: pending.key,
        kind: 'put',
        value: pending.value,
        call_time: pending.call_time,
        ret_time: Infinity,
      });
    }
  }

  /** Called when `node` applies `entry`: completes a put proposed there at that index. */
  onApplied(node: NodeId, entry: Entry, nodes: ReadonlyMap<NodeId, SimNode>): void {
    for (const [clientId, pending] of this.pending) {
      if (pending.kind !== 'put' || pending.node !== node || pending.index !== entry.index) continue;
      this.pending.delete(clientId);
      const ours = entry.type === 'normal' && decodePut(entry.data).opId === pending.opId;
      if (ours) {
        this.completed++;
        this.history.push({
          id: this.history.length,
          clientId,
          key: pending.key,
          kind: 'put',
          value: pending.value,
          call_time: pending.call_time,
          ret_time: ++this.clock,
        });
      } else {
        // Another entry won that index: ours was overwritten before commit and can never apply.
        this.leaderGuess.delete(clientId);
      }
    }
    this.serveReads(node, nodes);
  }

  onReadState(node: NodeId, state: ReadState, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const contextHex = new TextDecoder().decode(state.context);
    for (const pending of this.pending.values()) {
      if (pending.kind === 'get' && pending.node === node && pending.contextHex === contextHex && pending.readIndex === null) pending.readIndex = state.index;
    }
    this.serveReads(node, nodes);
  }

  /** Completes reads on `node` whose read index it has applied. */
  serveReads(node: NodeId, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const sim = nodes.get(node);
    if (sim === undefined || sim.core === null) return;
    for (const [clientId, pending] of this.pending) {
      if (pending.kind !== 'get' || pending.node !== node || pending.readIndex === null) continue;
      if (sim.appliedIndex < pending.readIndex) continue;
      this.pending.delete(clientId);
      this.completed++;
      this.history.push({
        id: this.history.length,
        clientId,
        key: pending.key,
        kind: 'get',
        value: sim.kv.get(pending.key),
        call_time: pending.call_time,
        ret_time: ++this.clock,
      });
    }
  }

  /** A node crashed: its clients' operations will time out; reads there are lost. */
  onCrash(node: NodeId): void {
    for (const pending of this.pending.values()) {
      if (pending.kind === 'get' && pending.node === node) pending.readIndex = null;
    }
  }

  /** Ends the run: everything still pending has an unknown outcome. */
  finish(): void {
    for (const [clientId, pending] of [...this.pending]) this.expire(clientId, pending);
  }
}
