/**
 * The driver's Ready loop: the policy that turns the pure core's Readies into
 * disk writes, messages and applied entries, with everything it touches
 * injected (the disk, the network, the clock and the scheduling of deferred
 * work), so that RaftNode runs it over real files, gRPC and timers and the
 * simulator (src/sim) runs the same code over simulated ones.
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
 *
 * Completion is by callback, not promise: the simulator runs synchronously
 * and decides itself when a write completes, so a run is a function of its
 * seed. RaftNode adapts the durable log's promises to these callbacks.
 */
import { assert, NotLeaderError, UnavailableError, ZkpError } from '../../errors/index.ts';
import { applyConfChangeTo, decodeConfChange } from '../core/conf-change.ts';
import type { RaftCore } from '../core/index.ts';
import type { DriverLogger } from '../logger.ts';
import type { PreparedSnapshot } from '../storage/index.ts';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, RaftRole, Ready, Snapshot } from '../types.ts';
import type { LatencyTrace } from './latency-trace.ts';

/** The durable log as the loop uses it: what is durable (reads) and the writes that make things durable. */
export interface ReadyLoopDisk {
  /** The hard state as written (term and vote are durable; commit may lag). */
  hardState(): HardState;
  /** The last durable index. */
  lastIndex(): number;
  entries(lo: number, hi: number): Entry[];
  snapshot(): Snapshot;
  /** Replaces the whole log by a snapshot from the leader; durable when it returns. */
  applySnapshot(snapshot: Snapshot): void;
  /**
   * A new term or vote is durable when it returns; the commit index alone may
   * be written lazily, unless `commitDurable` (then it is durable too).
   */
  setHardState(state: HardState, commitDurable: boolean): void;
  /** Appends entries as one durable write; `done` once they are durable (reads see them from then on) or with the error. */
  append(entries: readonly Entry[], done: (error: Error | null) => void): void;
  /**
   * Writes a snapshot at `index` off the loop without making it current;
   * `done` with null when a snapshot at or after `index` is current already.
   */
  prepareSnapshot(
    index: number,
    conf: ConfState,
    data: Uint8Array | Promise<Uint8Array>,
    done: (error: Error | null, prepared: PreparedSnapshot | null) => void,
  ): void;
  /** Makes a prepared snapshot current and compacts; false when the log moved past it meanwhile. Never during an append. */
  installSnapshot(prepared: PreparedSnapshot): boolean;
}

export interface ReadyLoopClock {
  now_ms(): number;
  /** Calls `fn` after `delay_ms`; the handle cancels it. */
  setTimer(delay_ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
  /** Runs `fn` once the current turn's synchronous work is done (a microtask in a process). */
  defer(fn: () => void): void;
}

/** What the loop calls back into: the application, and the owner's wiring. */
export interface ReadyLoopHost {
  /** Applies a committed 'normal' entry; the result answers its proposer on this node. */
  apply(entry: Entry): Uint8Array;
  /** Replaces the application's state by a snapshot's data. */
  restore(data: Uint8Array): void;
  /** The application's state as of the last applied entry (a promise: serialised off the loop). */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** A committed conf-change entry applied here (before the core applies it in advance()). */
  confChangeApplied(entry: Entry, change: ConfChange): void;
  leaderChanged(change: { readonly leaderId: NodeId | null; readonly term: number; readonly role: RaftRole }): void;
  snapshotInstalled(index: number, size_bytes: number, install_ms: number): void;
  /** The loop stopped on an error (a failed write): the node must stop, never carry on as if the data were durable. */
  fatal(error: Error): void;
  clientAddressOf(id: NodeId | null): string | null;
}

export interface ReadyLoopOptions {
  readonly id: NodeId;
  readonly snapshotEvery_entries: number;
  readonly pendingRequests_max: number;
  readonly proposalTimeout_ms: number;
  readonly readTimeout_ms: number;
  /** Distinguishes this process's read contexts from an earlier incarnation's (a pid, a restart count). */
  readonly readContextTag: number;
  readonly logger: DriverLogger;
  readonly trace: LatencyTrace | null;
}

export interface ReadyLoopParts {
  readonly core: RaftCore;
  readonly disk: ReadyLoopDisk;
  readonly send: (messages: readonly Message[]) => void;
  readonly clock: ReadyLoopClock;
  readonly host: ReadyLoopHost;
}

interface PendingProposal {
  readonly term: number;
  readonly deadline_ms: number; // clock time after which the proposer is told the outcome is unknown
  readonly resolve: (result: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

interface PendingRead {
  index: number | null; // null until the ReadState arrives
  /** The leader asked to confirm it (this node when leading). */
  readonly askedLeader: NodeId | null;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
}

export class ReadyLoop {
  readonly core: RaftCore;
  private readonly disk: ReadyLoopDisk;
  private readonly send: (messages: readonly Message[]) => void;
  private readonly clock: ReadyLoopClock;
  private readonly host: ReadyLoopHost;
  private readonly options: ReadyLoopOptions;
  private readonly trace: LatencyTrace | null;

  /** The configuration as of `applied` (the core's moves to it in advance(), a little later). */
  appliedConf: ConfState;
  /** Of the state machine; may run ahead of the core's (applyDurableCommitted, applyLeaderCommitted). */
  applied: number;
  leaderId: NodeId | null = null;
  role: RaftRole = 'follower';
  private stopped = false;
  /** True from the first Ready of a drain until the core has none left (the loop may be waiting on the disk). */
  private running = false;
  /** True while the loop awaits the persist of a Ready whose messages already went out (leader fast path). */
  private persistingAfterSend = false;
  /** True while an append is in flight (between disk.append and its completion). */
  private appending = false;
  private earlySendScheduled = false;
  private readonly proposals = new Map<number, PendingProposal>(); // by log index
  private readonly reads = new Map<string, PendingRead>(); // by context (hex)
  private readSequence = 0;
  /** A snapshot being written off the loop (maybeSnapshot), until its completion ran. */
  private snapshotWriting = false;
  /** A written snapshot waiting for the loop to install it. */
  private preparedSnapshot: PreparedSnapshot | null = null;
  private idleWaiters: (() => void)[] = [];
  private snapshotWaiters: (() => void)[] = [];

  constructor(parts: ReadyLoopParts, options: ReadyLoopOptions) {
    this.core = parts.core;
    this.disk = parts.disk;
    this.send = parts.send;
    this.clock = parts.clock;
    this.host = parts.host;
    this.options = options;
    this.trace = options.trace;
    const snapshot = this.disk.snapshot();
    this.host.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.appliedConf = snapshot.metadata.conf;
  }

  get pendingProposals(): number {
    return this.proposals.size;
  }

  get pendingReads(): number {
    return this.reads.size;
  }

  /** Whether the loop stopped (stop(), or a fatal error). */
  get isStopped(): boolean {
    return this.stopped;
  }

  // ---- inputs ----

  tick(): void {
    if (this.stopped) return;
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
    const now_ms = this.clock.now_ms();
    for (const [index, pending] of this.proposals) {
      if (pending.deadline_ms > now_ms) break;
      this.proposals.delete(index);
      pending.reject(new UnavailableError(`proposal at index ${index} was not applied within ${this.options.proposalTimeout_ms} ms; its outcome is unknown`));
    }
  }

  receive(messages: readonly Message[]): void {
    if (this.stopped) return;
    this.trace?.mark('recv', messages.length, messages[0]?.type);
    for (const m of messages) {
      try {
        this.core.step(m);
      } catch (error) {
        // A message the core refuses (e.g. from a node outside the configuration) must not kill the node.
        if (error instanceof ZkpError && error.code === 'INTERNAL') throw error;
        this.options.logger.warn({ from: m.from, type: m.type, error: (error as Error).message }, 'core refused a message');
      }
    }
    if (this.running) this.applyLeaderCommitted();
    this.scheduleEarlySend();
    this.kick();
  }

  private tooBusy(): UnavailableError | null {
    if (this.stopped) return new UnavailableError(`raft node ${this.options.id} is closed`);
    if (this.proposals.size + this.reads.size >= this.options.pendingRequests_max) {
      return new UnavailableError(`raft node ${this.options.id} has ${this.options.pendingRequests_max} requests pending; retry later`);
    }
    return null;
  }

  /**
   * Proposes a command; `resolve` gets the state machine's result once it is
   * committed and applied here. `reject` (possibly before this returns) gets
   * NotLeaderError on a follower or when a new leader replaced the entry (it
   * was then certainly not applied), UnavailableError when too many requests
   * are pending, the node is closing, or the outcome is unknown.
   */
  propose(command: Uint8Array, resolve: (result: Uint8Array) => void, reject: (error: Error) => void): void {
    const busy = this.tooBusy();
    if (busy !== null) {
      reject(busy);
      return;
    }
    let landed: { index: number; term: number };
    try {
      landed = this.core.propose(command);
    } catch (error) {
      reject(this.withLeaderAddress(error));
      return;
    }
    this.track(landed, resolve, reject);
    this.trace?.mark('propose', landed.index);
    this.scheduleEarlySend();
    this.kick();
  }

  /** A membership change (leader only); `resolve` once applied here. Returns its index, or null when refused (then `reject` was called). */
  proposeConfChange(change: ConfChange, resolve: (result: Uint8Array) => void, reject: (error: Error) => void): number | null {
    if (this.stopped) {
      reject(new UnavailableError(`raft node ${this.options.id} is closed`));
      return null;
    }
    let landed: { index: number; term: number };
    try {
      landed = this.core.proposeConfChange(change);
    } catch (error) {
      reject(this.withLeaderAddress(error));
      return null;
    }
    this.track(landed, resolve, reject);
    this.scheduleEarlySend();
    this.kick();
    return landed.index;
  }

  private track(landed: { index: number; term: number }, resolve: (result: Uint8Array) => void, reject: (error: Error) => void): void {
    const displaced = this.proposals.get(landed.index);
    if (displaced !== undefined) {
      // An older proposal at this index was truncated away when this node lost and regained leadership.
      this.proposals.delete(landed.index);
      displaced.reject(this.notLeader());
    }
    const deadline_ms = this.clock.now_ms() + this.options.proposalTimeout_ms;
    this.proposals.set(landed.index, { term: landed.term, deadline_ms, resolve, reject });
  }

  /**
   * Linearizable read barrier: `resolve` once this node has applied everything
   * committed before the call, as confirmed by the leader (ReadIndex). Read the
   * state machine in `resolve`.
   */
  readIndex(resolve: () => void, reject: (error: Error) => void): void {
    const busy = this.tooBusy();
    if (busy !== null) {
      reject(busy);
      return;
    }
    const context = new Uint8Array(12);
    const view = new DataView(context.buffer);
    view.setUint32(0, this.options.readContextTag);
    view.setFloat64(4, ++this.readSequence);
    const key = Buffer.from(context).toString('hex');
    try {
      this.core.readIndex(context);
    } catch (error) {
      reject(this.withLeaderAddress(error));
      return;
    }
    const askedLeader = this.core.status().leaderId;
    const timer = this.clock.setTimer(this.options.readTimeout_ms, () => {
      if (this.reads.delete(key)) reject(this.notLeader());
    });
    this.reads.set(key, { index: null, askedLeader, resolve, reject, timer });
    this.kick();
  }

  transferLeadership(to: NodeId): void {
    try {
      this.core.transferLeadership(to);
    } catch (error) {
      throw this.withLeaderAddress(error);
    }
    this.kick();
  }

  notLeader(): NotLeaderError {
    const leader = this.core.status().leaderId;
    const known = leader === this.options.id ? null : leader;
    return new NotLeaderError(known, this.host.clientAddressOf(known));
  }

  private withLeaderAddress(error: unknown): Error {
    if (error instanceof NotLeaderError) return new NotLeaderError(error.leaderId, this.host.clientAddressOf(error.leaderId));
    return error as Error;
  }

  // ---- the loop ----

  /** Starts draining Readies unless a drain is running (it takes every Ready before it ends). */
  kick(): void {
    if (this.running || this.stopped || !this.core.hasReady()) return;
    this.running = true;
    try {
      this.installPreparedSnapshot();
    } catch (error) {
      this.failLoop(error as Error);
      return;
    }
    this.drain();
  }

  /** Runs Readies until the core has none (the drain ends) or one waits on the disk (appendDone resumes it). */
  private drain(): void {
    try {
      while (!this.stopped && this.core.hasReady()) {
        const ready = this.core.ready();
        if (this.trace !== null && ready.entries.length > 0) this.trace.mark('ready', ready.entries[0]!.index, ready.entries[ready.entries.length - 1]!.index);
        this.applyDurableCommitted(ready);
        const sentEarly = this.maySendBeforePersist(ready);
        if (sentEarly) {
          // Leader fast path (Raft paper §10.2.1): the leader's fdatasync runs in
          // parallel with its followers'. Safe because its term and vote are
          // unchanged (already durable) and the core counts the leader's own
          // copy of new entries only after advance(), i.e. after they are durable.
          this.send(ready.messages);
          this.persistingAfterSend = true;
        }
        if (ready.snapshot !== undefined) this.disk.applySnapshot(ready.snapshot);
        if (ready.entries.length > 0) {
          // Completes now (a synchronous disk) or later (appendDone resumes the drain).
          let waiting = true;
          let doneNow = false;
          let errorNow: Error | null = null;
          const started_ms = this.clock.now_ms();
          const last = ready.entries[ready.entries.length - 1]!.index;
          this.disk.append(ready.entries, (error) => {
            this.trace?.mark('persisted', last, this.clock.now_ms() - started_ms);
            if (!waiting) {
              this.appending = false;
              this.appendDone(ready, sentEarly, error);
              return;
            }
            doneNow = true;
            errorNow = error;
          });
          waiting = false;
          if (!doneNow) {
            this.appending = true;
            return;
          }
          if (sentEarly) this.persistingAfterSend = false;
          if (errorNow !== null) throw errorNow;
        } else if (sentEarly) this.persistingAfterSend = false;
        this.finishReady(ready, sentEarly);
      }
    } catch (error) {
      this.failLoop(error as Error);
      return;
    }
    this.running = false;
    this.notify(this.idleWaiters);
  }

  private appendDone(ready: Ready, sentEarly: boolean, error: Error | null): void {
    if (sentEarly) this.persistingAfterSend = false;
    try {
      if (error !== null) throw error;
      this.finishReady(ready, sentEarly);
    } catch (thrown) {
      this.failLoop(thrown as Error);
      return;
    }
    this.drain();
  }

  /** Steps 1 (hard state), 2, 3 and 4 of a Ready whose entries are durable. */
  private finishReady(ready: Ready, sentEarly: boolean): void {
    // A configuration takes effect as it applies (in advance(), below), and a
    // restarted core rebuilds it by applying the log up to its durable commit
    // index: that index must not fall back below a configuration change this
    // process applied. A node that restarted with the voters of two changes
    // ago could win an election with a quorum (a removed node's vote among
    // it) that misses every node holding newer committed entries.
    const confChange = ready.committedEntries.some((entry) => entry.type === 'conf-change');
    if (ready.hardState !== undefined || confChange) this.disk.setHardState(ready.hardState ?? this.disk.hardState(), confChange);
    if (!sentEarly) this.send(ready.messages);
    if (this.trace !== null && ready.messages.length > 0) this.trace.mark('sent', ready.messages.length, ready.messages[0]!.type);
    this.applyReady(ready);
    this.core.advance(ready);
    this.noteSoftState(ready);
    this.installPreparedSnapshot();
    this.maybeSnapshot();
  }

  /** Stops on an error; a drain waiting on an append stays running until that completes (nothing may close the log under it). */
  private failLoop(error: Error): void {
    this.stopped = true;
    if (!this.appending) {
      this.running = false;
      this.persistingAfterSend = false;
    }
    this.host.fatal(error);
    if (!this.running) this.notify(this.idleWaiters);
  }

  private notify(waiters: (() => void)[]): void {
    if (waiters.length === 0) return;
    const ready = waiters.splice(0);
    for (const waiter of ready) waiter();
  }

  /**
   * While a leader persists a Ready whose messages are already sent, appends
   * for proposals that arrive meanwhile (and heartbeats, read-index answers)
   * need not wait for that fdatasync and the next Ready: they go out at the
   * end of the current turn (one frame per peer for everything the turn
   * added). Same argument as the fast path: nothing a leader sends depends on
   * its own disk. Without this, each proposal waited on average half an
   * fdatasync before its followers even saw it.
   */
  private scheduleEarlySend(): void {
    if (!this.persistingAfterSend || this.earlySendScheduled) return;
    this.earlySendScheduled = true;
    this.clock.defer(() => {
      this.earlySendScheduled = false;
      if (!this.persistingAfterSend || this.stopped) return;
      const messages = this.core.takeLeaderMessages();
      if (messages.length === 0) return;
      this.send(messages);
      if (this.trace !== null) this.trace.mark('sent', messages.length, messages[0]!.type);
    });
  }

  private maySendBeforePersist(ready: Ready): boolean {
    if ((ready.softState?.role ?? this.role) !== 'leader' || ready.snapshot !== undefined) return false;
    const hard = ready.hardState;
    if (hard === undefined) return true;
    const durable = this.disk.hardState();
    return hard.term === durable.term && hard.vote === durable.vote;
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
    const durable = Math.min(this.disk.lastIndex(), firstNew - 1);
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
   * On the leader, while the loop awaits a persist: an acknowledgement that
   * moved the commit index would otherwise wait for that (unrelated, next
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
    const selfMatch = this.core.progressOf(this.options.id)?.match ?? 0;
    const upTo = Math.min(core.commit, selfMatch, this.disk.lastIndex());
    if (upTo <= this.applied) return;
    for (const entry of this.disk.entries(this.applied + 1, upTo + 1)) this.applyEntry(entry);
    if (this.trace !== null) this.trace.mark('committed', this.applied);
    this.resolveReads();
  }

  private applyReady(ready: Ready): void {
    if (ready.snapshot !== undefined && ready.snapshot.metadata.index > this.applied) {
      this.host.restore(ready.snapshot.data);
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
    if (entry.type === 'conf-change') {
      const change = decodeConfChange(entry.data);
      this.appliedConf = applyConfChangeTo(this.appliedConf, change);
      this.host.confChangeApplied(entry, change);
    }
    const result = entry.type === 'normal' ? this.host.apply(entry) : new Uint8Array(0);
    const pending = this.proposals.get(entry.index);
    if (pending === undefined) return;
    this.proposals.delete(entry.index);
    if (pending.term === entry.term) pending.resolve(result);
    else pending.reject(this.notLeader()); // a new leader replaced our entry: it was not applied
  }

  private resolveReads(): void {
    for (const [key, pending] of this.reads) {
      if (pending.index === null || pending.index > this.applied) continue;
      this.reads.delete(key);
      this.clock.clearTimer(pending.timer);
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
        this.clock.clearTimer(pending.timer);
        pending.reject(this.notLeader());
      }
    }
    if (leaderChanged) this.host.leaderChanged({ leaderId: soft.leaderId, term: this.core.status().term, role: soft.role });
  }

  // ---- snapshots ----

  private snapshotDue(): boolean {
    return this.applied - this.disk.snapshot().metadata.index >= this.options.snapshotEvery_entries;
  }

  /**
   * Starts a snapshot when one is due, at the current applied index. The
   * state machine captures its state here and may serialise it in slices
   * (KvStateMachine does); the file is written and synced off the loop
   * (prepareSnapshot) while commits go on, and the loop installs it between
   * Readies (installPreparedSnapshot). A synchronous snapshot of a few MB
   * with its fsyncs stalled every commit for tens of milliseconds, and a
   * synchronous serialisation of 60,000 keys for 90-150 ms.
   */
  private maybeSnapshot(): void {
    if (this.snapshotWriting || this.preparedSnapshot !== null || !this.snapshotDue()) return;
    // The state machine may be ahead of the core (applyLeaderCommitted); the
    // core must not be asked to read entries below a snapshot it has not
    // applied, so wait for the advance that brings it level.
    if (this.core.status().applied !== this.applied) return;
    const index = this.applied;
    const data = this.host.snapshot();
    this.snapshotWriting = true;
    this.disk.prepareSnapshot(index, this.core.status().conf, data, (error, prepared) => {
      this.snapshotWriting = false;
      if (error !== null) {
        this.notify(this.snapshotWaiters);
        if (!this.stopped) this.failLoop(error);
        return;
      }
      this.preparedSnapshot = prepared;
      try {
        // With the loop idle no append is in flight: install now.
        if (!this.running && !this.stopped) this.installPreparedSnapshot();
      } catch (thrown) {
        this.notify(this.snapshotWaiters);
        this.failLoop(thrown as Error);
        return;
      }
      this.notify(this.snapshotWaiters);
      this.kick();
    });
  }

  /** Called between Readies, when no append is in flight. */
  private installPreparedSnapshot(): void {
    const prepared = this.preparedSnapshot;
    if (prepared === null) return;
    this.preparedSnapshot = null;
    const index = prepared.snapshot.metadata.index;
    const started_ms = this.clock.now_ms();
    if (!this.disk.installSnapshot(prepared)) return;
    this.core.snapshotTaken(index);
    const install_ms = this.clock.now_ms() - started_ms;
    this.trace?.mark('snapshot', index, install_ms);
    this.host.snapshotInstalled(index, prepared.snapshot.data.length, install_ms);
  }

  // ---- shutdown ----

  /** Takes no more input and starts no more Readies; a persist in flight still finishes its Ready (whenIdle). */
  stop(): void {
    this.stopped = true;
  }

  /** Calls `fn` once no Ready is in progress (at once when none is). */
  whenIdle(fn: () => void): void {
    if (this.running) this.idleWaiters.push(fn);
    else fn();
  }

  /** Calls `fn` once no snapshot write is in flight (at once when none is). */
  whenSnapshotSettled(fn: () => void): void {
    if (this.snapshotWriting) this.snapshotWaiters.push(fn);
    else fn();
  }

  /** Fails every waiting proposal and read with `error` (the node is closing). */
  rejectAll(error: Error): void {
    for (const pending of this.proposals.values()) pending.reject(error);
    this.proposals.clear();
    for (const pending of this.reads.values()) {
      this.clock.clearTimer(pending.timer);
      pending.reject(error);
    }
    this.reads.clear();
  }
}
