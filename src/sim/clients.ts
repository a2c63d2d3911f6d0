import { NotLeaderError } from '../errors/index.ts';
import { ClientSession } from '../raft/sessions/client-session.ts';
import { decodeSessionResult, encodeRegisterCommand, encodeSessionCommand } from '../raft/sessions/envelope.ts';
import type { NodeId } from '../raft/types.ts';
import type { DurabilityChecker } from './durability.ts';
import { decodePutResult, encodePut } from './kv.ts';
import type { RegisterOp } from './linearizability.ts';
import type { SimNode } from './node.ts';
import type { Prng } from '../random/prng.ts';

/** A put's attempt gets this long for an answer before the client sends it again, elsewhere. */
const ATTEMPT_TICKS = 25;
/** A put unanswered this long is given up on (its outcome stays unknown). */
const PUT_GIVE_UP_TICKS = 200;

interface PendingOp {
  readonly kind: 'put' | 'get';
  readonly opId: string;
  readonly key: string;
  readonly value: string | null; // the put's value
  /** A put's request number in its client's session; a retry keeps it. */
  readonly seq: number;
  readonly call_time: number;
  /** When the client stops waiting for an answer. */
  readonly giveUp_tick: number;
  /** Attempts sent so far (a get has one). */
  attempts: number;
  /** The current attempt is abandoned at this tick (and the put sent again). */
  attemptDeadline_tick: number;
  /** Where the latest attempt went (a retry after a timeout goes elsewhere). */
  lastNode: NodeId | null;
}

interface ClientState {
  readonly id: string;
  /** The cluster's session for this client, once its register command was answered. */
  session: ClientSession | null;
  /** A register command in flight, abandoned at this tick. */
  registeringUntil_tick: number | null;
  pending: PendingOp | null;
  leaderGuess: NodeId | null;
}

/**
 * Simulated clients of the replicated register store, as a real client of
 * the KV service behaves. Each first opens an exactly-once session (a
 * register command) and then has at most one operation outstanding, made
 * through the node's Ready loop as a service would:
 *
 * - a put is a session command (client id, seq): proposed on the node the
 *   client believes leads, answered once applied there. Refused, timed out,
 *   or lost with a crashed or deposed node, it is sent again with the same
 *   seq, to the leader named in the refusal or to another node, until it is
 *   answered or the client gives up. All attempts are one operation in the
 *   history: called when the first was sent, returned when one was answered
 *   (whichever: an answer to an earlier attempt is as good), or unknown
 *   (infinite return time) if none was;
 * - a get is a ReadIndex, then a read of that node's state machine; a get
 *   refused or unanswered by its deadline is left out of the history.
 */
export class SimClients {
  readonly history: RegisterOp[] = [];
  private readonly clients: ClientState[];
  private clock = 0; // logical time of calls and returns, shared by all clients
  private nextOpId = 0;
  private now_tick = 0;
  completed = 0;
  timedOut = 0;
  /** Put attempts after the first (each a retry of the same request). */
  retries = 0;
  /** Puts answered from the session table: the request had been applied before (for an earlier attempt). */
  duplicateAnswers = 0;
  /** Gets sent to a new leader as soon as it was seen (readAtNewLeader). */
  newLeaderReads = 0;
  /** Called after a put was acknowledged by `node` (the simulation may aim a fault at that moment). */
  onPutAcknowledged: ((node: SimNode) => void) | null = null;
  /** The key of the latest acknowledged put: a read right after a leader change asks for it. */
  private lastAckedKey: string | null = null;

  constructor(
    clientIds: readonly string[],
    private readonly keys: readonly string[],
    private readonly prng: Prng,
    private readonly getTimeout_ticks: number,
    private readonly durability: DurabilityChecker,
  ) {
    this.clients = clientIds.map((id) => ({ id, session: null, registeringUntil_tick: null, pending: null, leaderGuess: null }));
  }

  /** Starts new operations for idle clients (with some probability), resends puts whose attempt timed out, expires old ones. */
  step(now_tick: number, nodes: ReadonlyMap<NodeId, SimNode>, startProbability: number): void {
    this.now_tick = now_tick;
    for (const client of this.clients) {
      const pending = client.pending;
      if (pending !== null) {
        if (now_tick >= pending.giveUp_tick) this.unknown(client, pending);
        else if (pending.kind === 'put' && now_tick >= pending.attemptDeadline_tick) this.sendPut(client, pending, nodes);
        continue;
      }
      if (client.registeringUntil_tick !== null) {
        if (now_tick >= client.registeringUntil_tick) client.registeringUntil_tick = null;
        continue;
      }
      if (!this.prng.chance(startProbability)) continue;
      if (client.session === null) this.register(client, nodes);
      else this.start(client, nodes);
    }
  }

  /** The node the client sends to: its guess of the leader, else any other than `avoid`. */
  private target(client: ClientState, nodes: ReadonlyMap<NodeId, SimNode>, avoid: NodeId | null): SimNode | null {
    let nodeId = client.leaderGuess;
    if (nodeId === null) {
      const others = [...nodes.keys()].filter((id) => id !== avoid);
      nodeId = this.prng.pick(others.length > 0 ? others : [...nodes.keys()]);
    }
    const node = nodes.get(nodeId);
    if (node === undefined || node.loop === null || node.paused) {
      client.leaderGuess = null; // connection refused: try someone else next time
      return null;
    }
    return node;
  }

  /** Follows a refusal's hint: the leader it names, or anyone next time. */
  private follow(client: ClientState, error: Error, nodes: ReadonlyMap<NodeId, SimNode>): void {
    client.leaderGuess = error instanceof NotLeaderError && error.leaderId !== null && nodes.has(error.leaderId) ? error.leaderId : null;
  }

  private register(client: ClientState, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const node = this.target(client, nodes, null);
    if (node === null) return;
    client.registeringUntil_tick = this.now_tick + ATTEMPT_TICKS;
    node.turn((loop) =>
      loop.propose(
        encodeRegisterCommand(),
        (result) => {
          const answer = decodeSessionResult(result);
          // Any session the cluster opened for this client will do (one opened by an abandoned attempt is never used).
          if (answer.status === 'applied' && client.session === null) client.session = new ClientSession(new TextDecoder().decode(answer.result));
          client.registeringUntil_tick = null;
        },
        (error) => {
          this.follow(client, error, nodes);
          client.registeringUntil_tick = null;
        },
      ),
    );
  }

  private start(client: ClientState, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const isPut = this.prng.chance(0.5);
    const key = this.prng.pick(this.keys);
    if (isPut) {
      const opId = `${client.id}.${this.nextOpId++}`;
      const session = client.session!;
      const op: PendingOp = {
        kind: 'put',
        opId,
        key,
        value: `v${this.nextOpId}`,
        seq: session.begin(),
        call_time: ++this.clock,
        giveUp_tick: this.now_tick + PUT_GIVE_UP_TICKS,
        attempts: 0,
        attemptDeadline_tick: this.now_tick,
        lastNode: null,
      };
      client.pending = op;
      this.sendPut(client, op, nodes);
      return;
    }
    const node = this.target(client, nodes, null);
    if (node === null) return;
    this.startGet(client, node, key, nodes);
  }

  /**
   * Every idle client reads, from `leader` (just seen leading), the key last
   * written: a new leader that answered a ReadIndex before its first commit
   * in its term could miss a write the old leader had committed and answered.
   */
  readAtNewLeader(leader: SimNode, nodes: ReadonlyMap<NodeId, SimNode>): void {
    if (leader.loop === null || leader.paused) return;
    for (const client of this.clients) {
      if (client.pending !== null || client.registeringUntil_tick !== null) continue;
      this.newLeaderReads++;
      this.startGet(client, leader, this.lastAckedKey ?? this.keys[0]!, nodes);
    }
  }

  private startGet(client: ClientState, node: SimNode, key: string, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const opId = `${client.id}.${this.nextOpId++}`;
    const op: PendingOp = {
      kind: 'get',
      opId,
      key,
      value: null,
      seq: 0,
      call_time: ++this.clock,
      giveUp_tick: this.now_tick + this.getTimeout_ticks,
      attempts: 1,
      attemptDeadline_tick: this.now_tick + this.getTimeout_ticks,
      lastNode: node.id,
    };
    client.pending = op;
    let inCall = true;
    node.turn((loop) => {
      loop.readIndex(
        () => this.answered(client, op, node.kv.get(key)),
        (error) => {
          if (client.pending !== op) return;
          this.follow(client, error, nodes);
          // Refused before anything was queued: the read never started. Otherwise its outcome is unknown.
          if (inCall && error instanceof NotLeaderError) client.pending = null;
          else this.unknown(client, op);
        },
      );
      inCall = false;
    });
  }

  /** Sends (or sends again) a put of `client`'s session, with its seq, to the node it now believes leads or to another one. */
  private sendPut(client: ClientState, op: PendingOp, nodes: ReadonlyMap<NodeId, SimNode>): void {
    const session = client.session!;
    // No answer in time from where it went: ask another node (the new leader, perhaps).
    if (op.lastNode !== null && op.lastNode === client.leaderGuess) client.leaderGuess = null;
    op.attemptDeadline_tick = this.now_tick + 1; // if no node takes it now, try again next tick
    const node = this.target(client, nodes, op.lastNode);
    if (node === null) return;
    op.lastNode = node.id;
    op.attempts++;
    if (op.attempts > 1) this.retries++;
    const attempt = op.attempts;
    op.attemptDeadline_tick = this.now_tick + ATTEMPT_TICKS;
    const command = encodeSessionCommand(session.tag(op.seq), encodePut({ opId: op.opId, key: op.key, value: op.value! }));
    node.turn((loop) => {
      const acknowledged = (data: Uint8Array): void => {
        if (client.pending !== op) return; // answered already (another attempt), or given up on
        const answer = decodeSessionResult(data);
        if (answer.status === 'stale' || answer.status === 'unknown-client') {
          // The cluster cannot tell whether it was applied.
          this.unknown(client, op);
          return;
        }
        if (answer.status === 'duplicate') this.duplicateAnswers++;
        const { index, term } = decodePutResult(answer.result);
        this.durability.onAcknowledged({ opId: op.opId, key: op.key, value: op.value!, index, term, ackTerm: loop.core.status().term, node: node.id });
        this.answered(client, op, op.value);
        this.lastAckedKey = op.key;
        this.onPutAcknowledged?.(node);
      };
      const refused = (error: Error): void => {
        // Only the latest attempt's refusal matters; its outcome is unknown, so it is sent again (same seq).
        if (client.pending !== op || op.attempts !== attempt) return;
        this.follow(client, error, nodes);
        op.lastNode = null; // the refusal's hint (or anyone) next
        // At once to a leader it names; with no leader known, after a short wait (an election takes a while).
        op.attemptDeadline_tick = this.now_tick + (client.leaderGuess !== null ? 1 : this.prng.range(2, 6));
      };
      loop.propose(command, acknowledged, refused);
    });
  }

  /** The node answered `op` (a put's value or a get's read). */
  private answered(client: ClientState, op: PendingOp, result: string | null): void {
    if (client.pending !== op) return;
    client.pending = null;
    if (op.kind === 'put') client.session!.finish(op.seq);
    this.completed++;
    this.history.push({
      id: this.history.length,
      clientId: client.id,
      key: op.key,
      kind: op.kind,
      value: result,
      call_time: op.call_time,
      ret_time: ++this.clock,
      attempts: op.attempts,
    });
  }

  /** `op` ends without a known outcome: a put stays in the history (it may have happened at any time after its call), a get is left out. */
  private unknown(client: ClientState, op: PendingOp): void {
    client.pending = null;
    client.leaderGuess = null;
    this.timedOut++;
    if (op.kind !== 'put') return;
    client.session!.finish(op.seq); // never sent again
    this.history.push({
      id: this.history.length,
      clientId: client.id,
      key: op.key,
      kind: 'put',
      value: op.value,
      call_time: op.call_time,
      ret_time: Infinity,
      attempts: op.attempts,
    });
  }

  /** Ends the run: everything still pending has an unknown outcome. */
  finish(): void {
    for (const client of this.clients) if (client.pending !== null) this.unknown(client, client.pending);
  }
}
