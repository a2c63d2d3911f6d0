/**
 * RaftNode: one Raft member as a running service. It owns the pure core
 * (src/raft/core), the durable log (storage/), the gRPC transport (transport/)
 * and the clock (a setInterval ticker), and runs the Ready loop:
 *
 *   1. persist the snapshot, entries (one write + one fdatasync) and hard state;
 *   2. send the messages (only now: they may promise what was just persisted);
 *   3. apply committed entries to the state machine, answer proposers;
 *   4. advance the core; take a snapshot and compact when due.
 *
 * While step 1 awaits the disk, new proposals and messages keep flowing into
 * the core; they form the next Ready, so one fdatasync covers a whole batch
 * (group commit) without any explicit batching timer.
 *
 * So that a commit never waits for an fdatasync that is not its own: a leader
 * sends before persisting (fast path) and sends what arrives meanwhile at once
 * (scheduleEarlySend); committed entries already on disk are applied before
 * the Ready's persist (applyDurableCommitted), and on the leader as soon as an
 * ack commits them (applyLeaderCommitted). docs/raft-driver.md has the why.
 */
import { EventEmitter } from 'node:events';
import { assert, InvalidArgumentError, NotLeaderError, UnavailableError, ZkpError } from '../../errors/index.ts';
import { applyConfChangeTo, decodeConfChange } from '../core/conf-change.ts';
import { RaftCore } from '../core/index.ts';
import { DurableLogStorage, type PreparedSnapshot } from '../storage/index.ts';
import { GrpcTransport } from '../transport/index.ts';
import { silentLogger, type DriverLogger } from '../logger.ts';
import type { ConfChange, ConfState, Entry, Message, NodeId, RaftRole, Ready } from '../types.ts';
import { checkHostPort } from '../host-port.ts';
import { AddressBook } from './address-book.ts';
import { compileOptions, type CompiledRaftNodeOptions, type PeerInfo, type RaftNodeOptions } from './options.ts';
import { unwrapSnapshotData, wrapSnapshotData } from './snapshot-envelope.ts';
import { LatencyTrace } from './latency-trace.ts';
import { Prng } from '../../random/prng.ts';
import type { StateMachine } from '../state-machine.ts';

export interface RaftNodeStatus {
  readonly id: NodeId;
  readonly role: RaftRole;
  readonly term: number;
  readonly leaderId: NodeId | null;
  readonly leaderAddress: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  /** The configuration as this node has applied it, with each member's addresses (null where unknown here). */
  readonly members: readonly MemberInfo[];
}

export interface MemberInfo {
  readonly id: NodeId;
  readonly role: 'voter' | 'learner';
  readonly raftAddress: string | null;
  readonly clientAddress: string | null;
}

/** What a membership change resolves with once it is applied on this node. */
export interface MembershipChangeResult {
  readonly index: number;
  readonly members: readonly MemberInfo[];
}

/** A learner is promoted only when its log is at most this far behind the leader's commit index (as etcd refuses to promote a learner that is not in sync). */
export const PROMOTE_LAG_ENTRIES_MAX = 1000;

export interface LeaderChange {
  readonly leaderId: NodeId | null;
  readonly leaderAddress: string | null;
  readonly term: number;
  readonly role: RaftRole;
}

interface PendingProposal {
  readonly term: number;
  readonly deadline_ms: number; // performance.now() after which the proposer is told the outcome is unknown
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  index: number | null; // null until the ReadState arrives
  /** The leader asked to confirm it (this node when leading). */
  readonly askedLeader: NodeId | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** The events a RaftNode emits, with their listener arguments. */
export interface RaftNodeEvents {
  'leader-change': [change: LeaderChange];
  fatal: [error: Error];
  'membership-change': [change: { readonly index: number; readonly change: ConfChange; readonly members: readonly MemberInfo[] }];
}

export class RaftNode extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  readonly options: CompiledRaftNodeOptions;
  private readonly logger: DriverLogger;
  private readonly storage: DurableLogStorage;
  private readonly core: RaftCore;
  private readonly transport: GrpcTransport;
  private readonly stateMachine: StateMachine;
  private readonly addresses: AddressBook;
  /** The configuration as of `applied` (the core's moves to it in advance(), a little later). */
  private appliedConf: ConfState;
  private ticker: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null; // the running Ready loop, if any
  private closed = false;
  private applied: number;
  private leaderId: NodeId | null = null;
  private role: RaftRole = 'follower';
  private readonly proposals = new Map<number, PendingProposal>(); // by log index
  private readonly reads = new Map<string, PendingRead>(); // by context (hex)
  private readSequence = 0;
  /** True while the loop awaits the persist of a Ready whose messages already went out (leader fast path). */
  private persistingAfterSend = false;
  /** The snapshot file being written off the event loop (maybeSnapshot), until it is installed or dropped. */
  private snapshotWrite: Promise<void> | null = null;
  /** A written snapshot waiting for the Ready loop to install it. */
  private preparedSnapshot: PreparedSnapshot | null = null;
  /** How long the last snapshot took to serialise (event loop running meanwhile if the state machine slices it) and write; for the log line. */
  private snapshotTimings: { index: number; serialize_ms: number; write_ms: number } | null = null;
  private earlySendScheduled = false;
  /** Diagnostics only (RAFT_TRACE_DIR); null in normal runs. */
  private readonly trace: LatencyTrace | null;
  /** Raft transport port actually bound (useful with port 0). */
  raftPort = 0;

  private constructor(options: CompiledRaftNodeOptions) {
    super();
    this.options = options;
    this.id = options.id;
    this.trace = LatencyTrace.fromEnv(options.id);
    this.logger = options.logger;
    this.stateMachine = options.stateMachine;
    this.addresses = new AddressBook(options.peers);
    this.storage = DurableLogStorage.open({
      dir: options.dataDir,
      clusterId: options.clusterId,
      nodeId: options.id,
      bootstrapConf: { voters: [...options.peers.keys()].sort(), learners: [] },
      startEmpty: options.join,
      segment_bytes_max: options.segment_bytes_max,
    });
    // The log is open (its directory locked) from here on: anything below that
    // fails must close it again, or this process could not reopen the node.
    try {
      const recovery = this.storage.recovery;
      this.logger.info({ ...recovery, seed: options.seed, dataDir: options.dataDir }, recovery.created ? 'created raft log' : 'recovered raft log');
      const snapshot = this.storage.snapshot();
      this.restoreSnapshotData(snapshot.data);
      this.applied = snapshot.metadata.index;
      this.appliedConf = snapshot.metadata.conf;
      if (recovery.created && options.join)
        this.logger.info({ peers: [...options.peers.keys()] }, 'joining: this node waits for a leader to add it to the configuration');
      this.core = new RaftCore({
        id: options.id,
        electionTicks: options.electionTicks,
        heartbeatTicks: options.heartbeatTicks,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: options.messageSize_bytes_max,
        maxInflightMsgs: options.inflightMessages_max,
        storage: this.storage,
        random: new Prng(options.seed >>> 0).floats(), // the seed as a 32-bit word, as it always was
      });
      const raftAddresses = new Map<NodeId, string>();
      for (const id of this.addresses.ids()) raftAddresses.set(id, this.addresses.get(id)!.raftAddress);
      this.transport = new GrpcTransport({
        selfId: options.id,
        clusterId: options.clusterId,
        listenAddress: options.raftListenAddress,
        peers: raftAddresses,
        onMessages: (messages) => this.onMessages(messages),
        logger: this.logger,
      });
    } catch (error) {
      this.storage.abandon();
      throw error;
    }
  }

  /** Opens the log (recovering it), binds the transport, starts the clock. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const node = new RaftNode(compileOptions(options, options.logger ?? silentLogger));
    try {
      node.raftPort = await node.transport.start();
    } catch (error) {
      node.storage.close();
      throw error;
    }
    node.ticker = setInterval(() => node.onTick(), node.options.tick_ms);
    return node;
  }

  // ---- inputs ----

  private onTick(): void {
    if (this.closed) return;
    this.trace?.tick(this.options.tick_ms);
    this.core.tick();
    this.expireProposals();
    this.scheduleEarlySend();
    this.kick();
  }

  /**
   * The map iterates in insertion order, which is deadline order (every
   * deadline is now + the same timeout): expire from the oldest, stop at the
   * first one still in time.
   */
  private expireProposals(): void {
    const now_ms = performance.now();
    for (const [index, pending] of this.proposals) {
      if (pending.deadline_ms > now_ms) break;
      this.proposals.delete(index);
      pending.reject(new UnavailableError(`proposal at index ${index} was not applied within ${this.options.proposalTimeout_ms} ms; its outcome is unknown`));
    }
  }

  private onMessages(messages: Message[]): void {
    if (this.closed) return;
    this.trace?.mark('recv', messages.length, messages[0]?.type);
    for (const m of messages) {
      try {
        this.core.step(m);
      } catch (error) {
        // A message the core refuses (e.g. from a node outside the configuration) must not kill the node.
        if (error instanceof ZkpError && error.code === 'INTERNAL') throw error;
        this.logger.warn({ from: m.from, type: m.type, error: (error as Error).message }, 'core refused a message');
      }
    }
    if (this.loop !== null) this.applyLeaderCommitted();
    this.scheduleEarlySend();
    this.kick();
  }

  /**
   * Proposes a command; resolves with the state machine's result once it is
   * committed and applied here. Fails with NotLeaderError (naming the leader
   * and its client address) on a follower, or if a new leader replaced the
   * entry (it was then certainly not applied); UnavailableError when too many
   * requests are pending or the node is closing.
   */
  propose(command: Uint8Array): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new UnavailableError(`raft node ${this.id} is closed`));
    if (this.proposals.size + this.reads.size >= this.options.pendingRequests_max) {
      return Promise.reject(new UnavailableError(`raft node ${this.id} has ${this.options.pendingRequests_max} requests pending; retry later`));
    }
    let landed: { index: number; term: number };
    try {
      landed = this.core.propose(command);
    } catch (error) {
      return Promise.reject(this.withLeaderAddress(error));
    }
    const displaced = this.proposals.get(landed.index);
    if (displaced !== undefined) {
      // An older proposal at this index was truncated away when this node lost and regained leadership.
      this.proposals.delete(landed.index);
      displaced.reject(this.notLeader());
    }
    this.trace?.mark('propose', landed.index);
    this.scheduleEarlySend();
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      const deadline_ms = performance.now() + this.options.proposalTimeout_ms;
      this.proposals.set(landed.index, { term: landed.term, deadline_ms, resolve, reject });
    });
    this.kick();
    return promise;
  }

  /**
   * Linearizable read barrier: resolves once this node has applied everything
   * committed before the call, as confirmed by the leader (ReadIndex). Read the
   * state machine right after it resolves.
   */
  readIndex(): Promise<void> {
    if (this.closed) return Promise.reject(new UnavailableError(`raft node ${this.id} is closed`));
    if (this.proposals.size + this.reads.size >= this.options.pendingRequests_max) {
      return Promise.reject(new UnavailableError(`raft node ${this.id} has ${this.options.pendingRequests_max} requests pending; retry later`));
    }
    const context = new Uint8Array(12);
    const view = new DataView(context.buffer);
    view.setUint32(0, process.pid);
    view.setFloat64(4, ++this.readSequence);
    const key = Buffer.from(context).toString('hex');
    try {
      this.core.readIndex(context);
    } catch (error) {
      return Promise.reject(this.withLeaderAddress(error));
    }
    const askedLeader = this.core.status().leaderId;
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.reads.delete(key)) reject(this.notLeader());
      }, this.options.readTimeout_ms);
      this.reads.set(key, { index: null, askedLeader, resolve, reject, timer });
    });
    this.kick();
    return promise;
  }

  transferLeadership(to: NodeId): void {
    try {
      this.core.transferLeadership(to);
    } catch (error) {
      throw this.withLeaderAddress(error);
    }
    this.kick();
  }

  status(): RaftNodeStatus {
    const core = this.core.status();
    return {
      id: this.id,
      role: core.role,
      term: core.term,
      leaderId: core.leaderId,
      leaderAddress: this.clientAddressOf(core.leaderId),
      commit: core.commit,
      applied: this.applied,
      lastIndex: core.lastIndex,
      snapshotIndex: this.storage.snapshot().metadata.index,
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      members: this.members(),
    };
  }

  /** The configuration as this node has applied it, voters first. */
  members(): MemberInfo[] {
    const { voters, learners } = this.appliedConf;
    const describe = (id: NodeId, role: MemberInfo['role']): MemberInfo => {
      const info = this.addresses.get(id);
      return { id, role, raftAddress: info?.raftAddress ?? null, clientAddress: info?.clientAddress ?? null };
    };
    return [...voters.map((id) => describe(id, 'voter')), ...learners.map((id) => describe(id, 'learner'))];
  }

  /**
   * Adds a node (leader only): as a learner, which receives the log but does
   * not vote or count for commits, or as a voter. Adding a voter that is a
   * learner promotes it, once its log is within PROMOTE_LAG_ENTRIES_MAX of the
   * commit index (a voter far behind would make every commit wait for it in a
   * small cluster). Start the new node with `join` first, or right after.
   * Resolves once the change is committed and applied here. One change at a
   * time: a second one fails until the first is applied. Without `given`, the
   * addresses this node knows for `id` are used (promoting a learner).
   */
  addMember(id: NodeId, as: 'voter' | 'learner', given?: PeerInfo): Promise<MembershipChangeResult> {
    if (typeof id !== 'string' || id.length === 0 || /[\s,@/]/.test(id)) {
      return Promise.reject(new InvalidArgumentError(`member id must be a non-empty string without spaces, commas, @ or /, got ${JSON.stringify(id)}`));
    }
    // On a follower: to the leader first, which may know addresses this node does not.
    if (this.closed) return Promise.reject(new UnavailableError(`raft node ${this.id} is closed`));
    const core = this.core.status();
    if (core.role !== 'leader') return Promise.reject(this.notLeader());
    const addresses = given ?? this.addresses.get(id);
    if (addresses === undefined) return Promise.reject(new InvalidArgumentError(`no address is known for ${id}: give its raft and client addresses`));
    try {
      checkHostPort(`raft address of ${id}`, addresses.raftAddress);
      checkHostPort(`client address of ${id}`, addresses.clientAddress);
    } catch (error) {
      return Promise.reject(error);
    }
    if (as === 'voter' && core.conf.learners.includes(id)) {
      const match = this.core.progressOf(id)?.match ?? 0;
      const commit = core.commit;
      if (match === 0 || commit - match > PROMOTE_LAG_ENTRIES_MAX) {
        return Promise.reject(
          new UnavailableError(
            `learner ${id} is not caught up (it has ${match === 0 ? 'acknowledged nothing yet' : `entries to ${match}, the commit index is ${commit}`}); promote it once it is within ${PROMOTE_LAG_ENTRIES_MAX} entries`,
          ),
        );
      }
    }
    return this.proposeMembership({
      type: as === 'voter' ? 'add-voter' : 'add-learner',
      nodeId: id,
      address: addresses.raftAddress,
      clientAddress: addresses.clientAddress,
    });
  }

  /** Removes a voter or learner (leader only); a leader that removes itself steps down once the change applies. */
  removeMember(id: NodeId): Promise<MembershipChangeResult> {
    return this.proposeMembership({ type: 'remove-node', nodeId: id });
  }

  private proposeMembership(change: ConfChange): Promise<MembershipChangeResult> {
    if (this.closed) return Promise.reject(new UnavailableError(`raft node ${this.id} is closed`));
    let landed: { index: number; term: number };
    try {
      landed = this.core.proposeConfChange(change);
    } catch (error) {
      return Promise.reject(this.withLeaderAddress(error));
    }
    this.logger.info({ index: landed.index, ...change }, 'membership change proposed');
    this.scheduleEarlySend();
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      const deadline_ms = performance.now() + this.options.proposalTimeout_ms;
      this.proposals.set(landed.index, { term: landed.term, deadline_ms, resolve, reject });
    });
    this.kick();
    return promise.then(() => ({ index: landed.index, members: this.members() }));
  }

  transportStats(): ReturnType<GrpcTransport['stats']> {
    return this.transport.stats();
  }

  clientAddressOf(id: NodeId | null): string | null {
    return id === null ? null : (this.addresses.get(id)?.clientAddress ?? null);
  }

  private notLeader(): NotLeaderError {
    const leader = this.core.status().leaderId;
    const known = leader === this.id ? null : leader;
    return new NotLeaderError(known, this.clientAddressOf(known));
  }

  private withLeaderAddress(error: unknown): unknown {
    if (error instanceof NotLeaderError) return new NotLeaderError(error.leaderId, this.clientAddressOf(error.leaderId));
    return error;
  }

  // ---- the Ready loop ----

  /** Starts the Ready loop unless it is already running (it drains every Ready before stopping). */
  private kick(): void {
    if (this.loop !== null || this.closed || !this.core.hasReady()) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      // Work that arrived during the last iteration's final steps.
      if (!this.closed && this.core.hasReady()) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    try {
      this.installPreparedSnapshot();
      while (!this.closed && this.core.hasReady()) {
        const ready = this.core.ready();
        if (this.trace !== null && ready.entries.length > 0) this.trace.mark('ready', ready.entries[0]!.index, ready.entries[ready.entries.length - 1]!.index);
        this.applyDurableCommitted(ready);
        if (this.maySendBeforePersist(ready)) {
          // Leader fast path (Raft paper §10.2.1): the leader's fdatasync runs in
          // parallel with its followers'. Safe because its term and vote are
          // unchanged (already durable) and the core counts the leader's own
          // copy of new entries only after advance(), i.e. after they are durable.
          this.transport.send(ready.messages);
          this.persistingAfterSend = true;
          try {
            await this.persist(ready);
          } finally {
            this.persistingAfterSend = false;
          }
        } else {
          await this.persist(ready);
          this.transport.send(ready.messages);
        }
        if (this.trace !== null && ready.messages.length > 0) this.trace.mark('sent', ready.messages.length, ready.messages[0]!.type);
        this.applyReady(ready);
        this.core.advance(ready);
        this.noteSoftState(ready);
        this.installPreparedSnapshot();
        this.maybeSnapshot();
      }
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /**
   * While a leader persists a Ready whose messages are already sent, appends
   * for proposals that arrive meanwhile (and heartbeats, read-index answers)
   * need not wait for that fdatasync and the next Ready: they go out at the
   * end of the current turn (one frame per peer for everything the turn
   * added). Same argument as the fast path below: nothing a leader sends
   * depends on its own disk. Without this, each proposal waited on average
   * half an fdatasync before its followers even saw it.
   */
  private scheduleEarlySend(): void {
    if (!this.persistingAfterSend || this.earlySendScheduled) return;
    this.earlySendScheduled = true;
    queueMicrotask(() => {
      this.earlySendScheduled = false;
      if (!this.persistingAfterSend || this.closed) return;
      const messages = this.core.takeLeaderMessages();
      if (messages.length === 0) return;
      this.transport.send(messages);
      if (this.trace !== null) this.trace.mark('sent', messages.length, messages[0]!.type);
    });
  }

  private maySendBeforePersist(ready: Ready): boolean {
    if ((ready.softState?.role ?? this.role) !== 'leader' || ready.snapshot !== undefined) return false;
    const hard = ready.hardState;
    if (hard === undefined) return true;
    const durable = this.storage.hardState();
    return hard.term === durable.term && hard.vote === durable.vote;
  }

  private async persist(ready: Ready): Promise<void> {
    if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot);
    if (ready.entries.length > 0) {
      const started_ms = performance.now();
      await this.storage.append(ready.entries);
      this.trace?.mark('persisted', ready.entries[ready.entries.length - 1]!.index, performance.now() - started_ms);
    }
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
  }

  /**
   * Applies (and answers) the Ready's committed entries that are already on
   * this node's disk before the Ready's own persist starts. Committed is a
   * quorum fact, and nothing at or below the durable last index that precedes
   * this Ready's new entries can change by persisting them, so these replies
   * need not wait for the next batch's fdatasync. Without this, under steady
   * load every reply waited for one extra fdatasync: the Ready that carries
   * batch k's commit also carries batch k+1's entries. Entries in this Ready's
   * own new tail (a follower learning entries and their commit together) wait
   * for the persist, in applyReady.
   */
  private applyDurableCommitted(ready: Ready): void {
    if (ready.snapshot !== undefined || ready.committedEntries.length === 0) return;
    const firstNew = ready.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    const durable = Math.min(this.storage.lastIndex(), firstNew - 1);
    let applied = false;
    for (const entry of ready.committedEntries) {
      if (entry.index > durable) break;
      this.applyEntry(entry);
      applied = true;
    }
    if (!applied) return;
    if (this.trace !== null) this.trace.mark('committed', this.applied);
    this.resolveReads();
  }

  /**
   * On the leader, while the Ready loop awaits a persist: an acknowledgement
   * that moved the commit index would otherwise wait for that (unrelated, next
   * batch's) fdatasync before the next Ready applies it. Apply now what is
   * committed and within the leader's own match index: the core sets that
   * match only to the prefix it knows is durable and identical in storage (a
   * stale stored tail still being replaced lies above it), so those stored
   * entries are exactly the committed ones. The next Ready carries them again;
   * applyEntry skips what is applied. Followers never take this path.
   */
  private applyLeaderCommitted(): void {
    if (this.snapshotDue()) return; // let the next advance catch the core up, so the snapshot index is one it has applied
    const core = this.core.status();
    if (core.role !== 'leader' || this.role !== 'leader') return;
    const selfMatch = this.core.progressOf(this.id)?.match ?? 0;
    const upTo = Math.min(core.commit, selfMatch, this.storage.lastIndex());
    if (upTo <= this.applied) return;
    for (const entry of this.storage.entries(this.applied + 1, upTo + 1)) this.applyEntry(entry);
    if (this.trace !== null) this.trace.mark('committed', this.applied);
    this.resolveReads();
  }

  private applyReady(ready: Ready): void {
    if (ready.snapshot !== undefined && ready.snapshot.metadata.index > this.applied) {
      this.restoreSnapshotData(ready.snapshot.data);
      this.appliedConf = ready.snapshot.metadata.conf;
      this.applied = ready.snapshot.metadata.index;
      // Proposals inside the snapshot: their outcome is unknown here (committed or replaced).
      for (const [index, pending] of this.proposals) {
        if (index > this.applied) continue;
        this.proposals.delete(index);
        pending.reject(this.notLeader());
      }
    }
    for (const entry of ready.committedEntries) this.applyEntry(entry);
    if (this.trace !== null && ready.committedEntries.length > 0)
      this.trace.mark('committed', ready.committedEntries[ready.committedEntries.length - 1]!.index);
    for (const readState of ready.readStates) {
      const key = Buffer.from(readState.context).toString('hex');
      const pending = this.reads.get(key);
      if (pending !== undefined) pending.index = readState.index;
    }
    this.resolveReads();
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.applied) return;
    assert(entry.index === this.applied + 1, () => `applying ${entry.index} after ${this.applied}: entries must be applied in order`);
    this.applied = entry.index;
    if (entry.type === 'conf-change') this.applyMembership(entry.index, decodeConfChange(entry.data));
    const result = entry.type === 'normal' ? this.stateMachine.apply(entry) : new Uint8Array(0);
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term === entry.term) pending.resolve(result);
    else pending.reject(this.notLeader()); // a new leader replaced our entry: it was not applied
  }

  /**
   * The driver's half of a membership change, as it applies (before the core
   * applies it in advance(), so the transport knows a new member's address
   * before the core first sends to it): learn or forget addresses.
   */
  private applyMembership(index: number, change: ConfChange): void {
    this.appliedConf = applyConfChangeTo(this.appliedConf, change);
    if (change.type === 'remove-node') {
      this.addresses.forget(change.nodeId);
      if (change.nodeId !== this.id) this.dropPeerLater(change.nodeId);
      else this.logger.warn({ index }, 'this node was removed from the cluster; it takes no further part and can be stopped');
    } else if (change.address !== undefined) {
      const info = { raftAddress: change.address, clientAddress: change.clientAddress ?? change.address };
      this.addresses.learn(change.nodeId, info);
      if (change.nodeId === this.id) {
        const own = this.options.peers.get(this.id)!;
        if (own.raftAddress !== info.raftAddress || own.clientAddress !== info.clientAddress) {
          this.logger.warn(
            { cluster: info, started: own },
            "the cluster added this node with other addresses than it was started with; peers and clients use the cluster's",
          );
        }
      } else {
        this.connectPeer(change.nodeId, info.raftAddress);
      }
    } else if (this.addresses.get(change.nodeId) === undefined && change.nodeId !== this.id) {
      this.logger.warn({ node: change.nodeId }, 'a member was added without an address and none is known here; restart this node with it in peers to reach it');
    }
    const members = this.members();
    this.logger.info({ index, ...change }, 'membership change applied');
    this.emit('membership-change', { index, change, members });
  }

  /**
   * Closes the stream to a removed member a while after the removal applied,
   * not at once: this Ready's messages (sent after the apply) may carry the
   * commit of the removal itself, which the removed node needs to apply it and
   * stop campaigning. Kept if it became a member again meanwhile.
   */
  private dropPeerLater(id: NodeId): void {
    const delay_ms = 2 * this.options.electionTicks * this.options.tick_ms;
    setTimeout(() => {
      const { voters, learners } = this.appliedConf;
      if (!voters.includes(id) && !learners.includes(id)) this.transport.removePeer(id);
    }, delay_ms).unref();
  }

  /** A bad address from the log must not stop the node (proposals check it; older entries might not have). */
  private connectPeer(id: NodeId, raftAddress: string): void {
    try {
      this.transport.setPeer(id, raftAddress);
    } catch (error) {
      this.logger.error({ node: id, raftAddress, error: (error as Error).message }, 'cannot use the raft address of a member');
    }
  }

  /** Restores the state machine from a snapshot's data and takes the addresses it carries. */
  private restoreSnapshotData(data: Uint8Array): void {
    const { learned, stateMachineData } = unwrapSnapshotData(data);
    this.stateMachine.restore(stateMachineData);
    this.addresses.replaceLearned(learned);
    // In the constructor the transport does not exist yet: it starts from the book.
    if (this.transport !== undefined) for (const [id, info] of learned) if (id !== this.id) this.connectPeer(id, info.raftAddress);
  }

  private resolveReads(): void {
    for (const [key, pending] of this.reads) {
      if (pending.index === null || pending.index > this.applied) continue;
      this.reads.delete(key);
      clearTimeout(pending.timer);
      pending.resolve();
    }
  }

  private noteSoftState(ready: Ready): void {
    const soft = ready.softState;
    if (soft === undefined) return;
    const leaderChanged = soft.leaderId !== this.leaderId;
    const wasLeader = this.role === 'leader';
    this.leaderId = soft.leaderId;
    this.role = soft.role;
    if ((wasLeader && soft.role !== 'leader') || leaderChanged) {
      // A read not yet given its index waits on the confirmation of the
      // leader it asked: ours, which we no longer hold, or an old leader's,
      // whose answer a new term makes void (a dead leader never answers;
      // waiting out readTimeout_ms held clients 2 s after a kill). The
      // caller retries on the new leader.
      for (const [key, pending] of this.reads) {
        if (pending.index !== null || (pending.askedLeader === soft.leaderId && soft.role === 'follower')) continue;
        this.reads.delete(key);
        clearTimeout(pending.timer);
        pending.reject(this.notLeader());
      }
    }
    if (leaderChanged) {
      const change: LeaderChange = {
        leaderId: soft.leaderId,
        leaderAddress: this.clientAddressOf(soft.leaderId),
        term: this.core.status().term,
        role: soft.role,
      };
      this.logger.info(change, 'leader change');
      this.emit('leader-change', change);
    }
  }

  private snapshotDue(): boolean {
    return this.applied - this.storage.snapshot().metadata.index >= this.options.snapshotEvery_entries;
  }

  /**
   * Starts a snapshot when one is due, at the current applied index. The
   * state machine captures its state here and may serialise it in slices
   * (KvStateMachine does); the file is written and synced off the event loop
   * (prepareSnapshot) while commits go on, and the Ready loop installs it
   * between Readies (installPreparedSnapshot). A synchronous snapshot of a
   * few MB with its fsyncs stalled every commit for tens of milliseconds, and
   * a synchronous serialisation of 60,000 keys for 90-150 ms.
   */
  private maybeSnapshot(): void {
    if (this.snapshotWrite !== null || !this.snapshotDue()) return;
    // The state machine may be ahead of the core (applyLeaderCommitted); the
    // core must not be asked to read entries below a snapshot it has not
    // applied, so wait for the advance that brings it level.
    if (this.core.status().applied !== this.applied) return;
    const index = this.applied;
    const started_ms = performance.now();
    let serialize_ms = 0;
    const learned = new Map(this.addresses.learned()); // as of this index: later changes must not leak into it
    const data = Promise.resolve(this.stateMachine.snapshot()).then((bytes) => {
      serialize_ms = performance.now() - started_ms;
      return wrapSnapshotData(learned, bytes);
    });
    // A failure of the state machine reaches fail() through prepareSnapshot, unless that returns before awaiting it.
    data.catch(() => undefined);
    this.snapshotWrite = this.storage
      .prepareSnapshot(index, this.core.status().conf, data)
      .then((prepared) => {
        this.snapshotTimings = { index, serialize_ms, write_ms: performance.now() - started_ms - serialize_ms };
        return prepared;
      })
      .then(
        (prepared) => {
          if (prepared === null) this.snapshotWrite = null;
          else this.preparedSnapshot = prepared;
          // With the loop idle no append is in flight: install now.
          if (this.loop === null && !this.closed) this.installPreparedSnapshot();
          this.kick();
        },
        (error: unknown) => {
          this.snapshotWrite = null;
          this.fail(error as Error);
        },
      );
  }

  /** Called by the Ready loop between Readies, when no append is in flight. */
  private installPreparedSnapshot(): void {
    const prepared = this.preparedSnapshot;
    if (prepared === null) return;
    this.preparedSnapshot = null;
    this.snapshotWrite = null;
    const index = prepared.snapshot.metadata.index;
    const started_ms = performance.now();
    if (!this.storage.installSnapshot(prepared)) return;
    this.core.snapshotTaken(index);
    const install_ms = performance.now() - started_ms;
    const timings = this.snapshotTimings?.index === index ? this.snapshotTimings : null;
    this.trace?.mark('snapshot', index, install_ms);
    this.logger.info(
      { index, bytes: prepared.snapshot.data.length, serialize_ms: timings?.serialize_ms, write_ms: timings?.write_ms, install_ms },
      'snapshot taken; log compacted',
    );
  }

  // ---- shutdown ----

  private fail(error: Error): void {
    this.logger.error({ error: error.message, stack: error.stack }, 'raft node failed; stopping');
    void this.shutdown(false);
    this.emit('fatal', error);
  }

  /** Stops the clock, finishes the Ready step in progress, closes the transport and the log. */
  async close(): Promise<void> {
    await this.shutdown(true);
  }

  private async shutdown(flush: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    if (this.loop !== null) await this.loop;
    // A snapshot still being written is left as a .tmp file, deleted at open.
    if (this.snapshotWrite !== null) await this.snapshotWrite;
    await this.transport.close();
    this.trace?.write();
    const closing = new UnavailableError(`raft node ${this.id} is closing`);
    for (const pending of this.proposals.values()) pending.reject(closing);
    this.proposals.clear();
    for (const pending of this.reads.values()) {
      clearTimeout(pending.timer);
      pending.reject(closing);
    }
    this.reads.clear();
    // After a failure nothing more is written, but the directory lock is released all the same.
    if (flush) this.storage.close();
    else this.storage.abandon();
  }
}
