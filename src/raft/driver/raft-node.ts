/**
 * RaftNode: one Raft member as a running service. It owns the pure core
 * (src/raft/core), the durable log (storage/), the gRPC transport (transport/)
 * and the clock (a setInterval ticker), and runs them through the Ready loop
 * (ready-loop.ts), which holds the whole policy: persist, send, apply,
 * advance, the leader's fast paths, snapshots and the answers to proposers.
 * What is left here is wiring: real files, gRPC, timers, the members'
 * addresses, logging and events. The simulator (src/sim) runs the same
 * ReadyLoop over a simulated disk, network and clock.
 */
import { EventEmitter } from 'node:events';
import { InvalidArgumentError, type NotLeaderError, UnavailableError } from '../../errors/index.ts';
import { RaftCore } from '../core/index.ts';
import { DurableLogStorage, type PreparedSnapshot } from '../storage/index.ts';
import { GrpcTransport } from '../transport/index.ts';
import { silentLogger, type DriverLogger } from '../logger.ts';
import type { ConfChange, Entry, NodeId, RaftRole } from '../types.ts';
import { checkHostPort } from '../host-port.ts';
import { AddressBook } from './address-book.ts';
import { compileOptions, type CompiledRaftNodeOptions, type PeerInfo, type RaftNodeOptions } from './options.ts';
import { unwrapSnapshotData, wrapSnapshotData } from './snapshot-envelope.ts';
import { LatencyTrace } from './latency-trace.ts';
import { ReadyLoop, type ReadyLoopClock, type ReadyLoopDisk, type ReadyLoopHost } from './ready-loop.ts';
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
  private readonly loop: ReadyLoop;
  private readonly transport: GrpcTransport;
  private readonly stateMachine: StateMachine;
  private readonly addresses: AddressBook;
  private ticker: NodeJS.Timeout | null = null;
  private closed = false;
  /** How long the last snapshot took to serialise (event loop running meanwhile if the state machine slices it) and write; for the log line. */
  private snapshotTimings: { index: number; serialize_ms: number; write_ms: number } | null = null;
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
      // The loop restores the state machine from the stored snapshot as it is built.
      this.loop = new ReadyLoop(
        { core: this.core, disk: this.diskWiring(), send: (messages) => this.transport.send(messages), clock: processClock, host: this.hostWiring() },
        {
          id: options.id,
          snapshotEvery_entries: options.snapshotEvery_entries,
          pendingRequests_max: options.pendingRequests_max,
          proposalTimeout_ms: options.proposalTimeout_ms,
          readTimeout_ms: options.readTimeout_ms,
          readContextTag: process.pid,
          logger: this.logger,
          trace: this.trace,
        },
      );
      const raftAddresses = new Map<NodeId, string>();
      for (const id of this.addresses.ids()) raftAddresses.set(id, this.addresses.get(id)!.raftAddress);
      this.transport = new GrpcTransport({
        selfId: options.id,
        clusterId: options.clusterId,
        listenAddress: options.raftListenAddress,
        peers: raftAddresses,
        onMessages: (messages) => this.loop.receive(messages),
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

  // ---- wiring ----

  /** The durable log with its promises turned into the loop's callbacks. */
  private diskWiring(): ReadyLoopDisk {
    const storage = this.storage;
    return {
      hardState: () => storage.hardState(),
      lastIndex: () => storage.lastIndex(),
      entries: (lo, hi) => storage.entries(lo, hi),
      snapshot: () => storage.snapshot(),
      applySnapshot: (snapshot) => storage.applySnapshot(snapshot),
      setHardState: (state, commitDurable) => storage.setHardState(state, commitDurable),
      append: (entries, done) => {
        storage.append(entries).then(
          () => done(null),
          (error: unknown) => done(error as Error),
        );
      },
      prepareSnapshot: (index, conf, data, done) => {
        const started_ms = performance.now();
        let serialize_ms = 0;
        const measured = Promise.resolve(data).then((bytes) => {
          serialize_ms = performance.now() - started_ms;
          return bytes;
        });
        // A failure of the state machine reaches done through prepareSnapshot, unless that returns before awaiting it.
        measured.catch(() => undefined);
        storage.prepareSnapshot(index, conf, measured).then(
          (prepared) => {
            this.snapshotTimings = { index, serialize_ms, write_ms: performance.now() - started_ms - serialize_ms };
            done(null, prepared);
          },
          (error: unknown) => done(error as Error, null),
        );
      },
      installSnapshot: (prepared: PreparedSnapshot) => storage.installSnapshot(prepared),
    };
  }

  /** The state machine behind the snapshot envelope (members' addresses), and this node's reactions to the loop. */
  private hostWiring(): ReadyLoopHost {
    return {
      apply: (entry: Entry) => this.stateMachine.apply(entry),
      restore: (data) => this.restoreSnapshotData(data),
      snapshot: () => {
        const learned = new Map(this.addresses.learned()); // as of this index: later changes must not leak into it
        const data = Promise.resolve(this.stateMachine.snapshot()).then((bytes) => wrapSnapshotData(learned, bytes));
        data.catch(() => undefined);
        return data;
      },
      confChangeApplied: (entry, change) => this.applyMembership(entry.index, change),
      leaderChanged: (soft) => {
        const change: LeaderChange = { leaderId: soft.leaderId, leaderAddress: this.clientAddressOf(soft.leaderId), term: soft.term, role: soft.role };
        this.logger.info(change, 'leader change');
        this.emit('leader-change', change);
      },
      snapshotInstalled: (index, size_bytes, install_ms) => {
        const timings = this.snapshotTimings?.index === index ? this.snapshotTimings : null;
        this.logger.info(
          { index, bytes: size_bytes, serialize_ms: timings?.serialize_ms, write_ms: timings?.write_ms, install_ms },
          'snapshot taken; log compacted',
        );
      },
      fatal: (error) => this.fail(error),
      clientAddressOf: (id) => this.clientAddressOf(id),
    };
  }

  // ---- inputs ----

  private onTick(): void {
    if (this.closed) return;
    this.trace?.tick(this.options.tick_ms);
    this.loop.tick();
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
    return new Promise<Uint8Array>((resolve, reject) => this.loop.propose(command, resolve, reject));
  }

  /**
   * Linearizable read barrier: resolves once this node has applied everything
   * committed before the call, as confirmed by the leader (ReadIndex). Read the
   * state machine right after it resolves.
   */
  readIndex(): Promise<void> {
    if (this.closed) return Promise.reject(new UnavailableError(`raft node ${this.id} is closed`));
    return new Promise<void>((resolve, reject) => this.loop.readIndex(resolve, reject));
  }

  transferLeadership(to: NodeId): void {
    this.loop.transferLeadership(to);
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
      applied: this.loop.applied,
      lastIndex: core.lastIndex,
      snapshotIndex: this.storage.snapshot().metadata.index,
      pendingProposals: this.loop.pendingProposals,
      pendingReads: this.loop.pendingReads,
      members: this.members(),
    };
  }

  /** The configuration as this node has applied it, voters first. */
  members(): MemberInfo[] {
    const { voters, learners } = this.loop.appliedConf;
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
    let index: number | null = null;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      index = this.loop.proposeConfChange(change, resolve, reject);
    });
    if (index === null) return promise.then(() => ({ index: 0, members: this.members() }));
    const landed = index;
    this.logger.info({ index: landed, ...change }, 'membership change proposed');
    return promise.then(() => ({ index: landed, members: this.members() }));
  }

  transportStats(): ReturnType<GrpcTransport['stats']> {
    return this.transport.stats();
  }

  clientAddressOf(id: NodeId | null): string | null {
    return id === null ? null : (this.addresses.get(id)?.clientAddress ?? null);
  }

  private notLeader(): NotLeaderError {
    return this.loop.notLeader();
  }

  /**
   * The driver's half of a membership change, as it applies (before the core
   * applies it in advance(), so the transport knows a new member's address
   * before the core first sends to it): learn or forget addresses.
   */
  private applyMembership(index: number, change: ConfChange): void {
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
      const { voters, learners } = this.loop.appliedConf;
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
    this.loop.stop();
    if (this.ticker !== null) clearInterval(this.ticker);
    await new Promise<void>((resolve) => this.loop.whenIdle(resolve));
    // A snapshot still being written is left as a .tmp file, deleted at open.
    await new Promise<void>((resolve) => this.loop.whenSnapshotSettled(resolve));
    await this.transport.close();
    this.trace?.write();
    this.loop.rejectAll(new UnavailableError(`raft node ${this.id} is closing`));
    // After a failure nothing more is written, but the directory lock is released all the same.
    if (flush) this.storage.close();
    else this.storage.abandon();
  }
}

/** Real time: performance.now(), timers, microtasks. */
const processClock: ReadyLoopClock = {
  now_ms: () => performance.now(),
  setTimer: (delay_ms, fn) => setTimeout(fn, delay_ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  defer: (fn) => queueMicrotask(fn),
};
