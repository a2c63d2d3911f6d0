import { assert, InvalidArgumentError, NotLeaderError } from '../../errors/index.ts';
import type {
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  RaftCoreApi,
  RaftRole,
  RaftStatus,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from '../types.ts';
import { applyConfChangeTo, decodeConfChange, encodeConfChange } from './conf-change.ts';
import { Progress } from './progress.ts';
import { RaftLog } from './raft-log.ts';
import { ReadOnlyQueue } from './read-only.ts';

type CampaignKind = 'pre-vote' | 'election' | 'transfer';
type VoteResult = 'won' | 'lost' | 'pending';

/** Marks a vote request sent because of timeout-now: it bypasses the leader lease (the leader asked for it). */
const TRANSFER_CONTEXT = new TextEncoder().encode('transfer');
/** Bound on messages queued between two Ready calls (a driver that never calls ready() is a bug). */
const MAX_QUEUED_MESSAGES = 1_000_000;
/** Bound on reads that wait for the new leader's first commit in its term. */
const MAX_READS_WAITING_FOR_COMMIT = 4096;
/** A snapshot that is neither acknowledged nor rejected within this many election timeouts is sent again. */
const SNAPSHOT_RESEND_ELECTION_TIMEOUTS = 2;

function isTransferContext(context: Uint8Array | undefined): boolean {
  return context !== undefined && Buffer.from(context).equals(Buffer.from(TRANSFER_CONTEXT));
}

function validateConfig(config: RaftConfig): void {
  if (typeof config.id !== 'string' || config.id.length === 0) throw new InvalidArgumentError('raft config id must be a non-empty string');
  if (!Number.isInteger(config.heartbeatTicks) || config.heartbeatTicks < 1) {
    throw new InvalidArgumentError(`raft config heartbeatTicks must be a positive integer, got ${config.heartbeatTicks}`);
  }
  if (!Number.isInteger(config.electionTicks) || config.electionTicks <= config.heartbeatTicks) {
    throw new InvalidArgumentError(
      `raft config electionTicks must be an integer greater than heartbeatTicks (${config.heartbeatTicks}), got ${config.electionTicks}`,
    );
  }
  if (!Number.isInteger(config.maxSizePerMsg) || config.maxSizePerMsg < 1) {
    throw new InvalidArgumentError(`raft config maxSizePerMsg must be a positive integer, got ${config.maxSizePerMsg}`);
  }
  if (!Number.isInteger(config.maxInflightMsgs) || config.maxInflightMsgs < 1) {
    throw new InvalidArgumentError(`raft config maxInflightMsgs must be a positive integer, got ${config.maxInflightMsgs}`);
  }
  if (typeof config.random !== 'function') throw new InvalidArgumentError('raft config random must be a function returning [0, 1)');
}

/**
 * The pure Raft state machine (see docs/raft.md). No I/O, no clock, no
 * randomness of its own: the driver calls tick(), step(), propose() ...,
 * then ready() / persist / send / apply / advance().
 */
export class RaftCore implements RaftCoreApi {
  readonly id: NodeId;
  private readonly config: RaftConfig;
  private readonly electionTimeout_ticks: number;
  private readonly heartbeatTimeout_ticks: number;

  private term = 0; // invariant: never decreases
  private vote: NodeId | null = null; // invariant: once set within a term, never changes in that term
  private role: RaftRole = 'follower';
  private leaderId: NodeId | null = null; // invariant: role === 'leader' implies leaderId === id
  readonly log: RaftLog;
  private conf: ConfState; // the configuration as of the last applied conf change (apply-time semantics)

  private progress = new Map<NodeId, Progress>(); // leader only: one entry per voter and learner, self included
  private votes = new Map<NodeId, boolean>(); // (pre-)candidate only: answers received this campaign

  private electionElapsed_ticks = 0; // leader: ticks since the last check-quorum; others: since last heard from a leader / granted a vote
  private heartbeatElapsed_ticks = 0; // leader only
  private randomizedElectionTimeout_ticks = 0; // in [electionTimeout, 2 * electionTimeout)

  private leadTransferee: NodeId | null = null; // leader only: the target of a transfer in progress
  private pendingConfIndex = 0; // leader only: index of the last conf change proposed; a new one needs applied >= this
  private readonly readOnly = new ReadOnlyQueue(); // leader only
  private readsWaitingForCommit: { context: Uint8Array; from: NodeId }[] = []; // leader only, before its first commit in its term

  private messages: Message[] = [];
  private readStates: ReadState[] = [];
  private broadcastPending = false; // leader: proposals appended since the last flush (batched into one append per follower)
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstandingReady: Ready | undefined; // invariant: at most one Ready between ready() and advance()

  constructor(config: RaftConfig) {
    validateConfig(config);
    this.config = config;
    this.id = config.id;
    this.electionTimeout_ticks = config.electionTicks;
    this.heartbeatTimeout_ticks = config.heartbeatTicks;
    const { hardState, conf } = config.storage.initialState();
    this.log = new RaftLog(config.storage, hardState.commit);
    this.conf = { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() };
    assert(hardState.term >= 0 && hardState.commit >= 0, 'hard state term and commit are non-negative');
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHardState = hardState;
    this.prevSoftState = { role: 'follower', leaderId: null };
    this.becomeFollower(this.term, null);
  }

  // ------------------------------------------------------------------ public API

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  step(message: Message): void {
    assert(message.to === this.id, () => `message for ${message.to} delivered to ${this.id}`);
    assert(Number.isInteger(message.term) && message.term >= 0, 'message term is a non-negative integer');
    if (message.from === this.id) return;
    // Before the term filter: a commit index is a fact of every term, and an
    // answer from a voter in an older term may be the only one that carries
    // it (simulator seed 2190: the removed leader, a term behind, rejects the
    // pre-vote and is the one node that knows its removal committed).
    if (message.type === 'vote-resp' || message.type === 'pre-vote-resp') this.learnCommitFromVoter(message);
    if (!this.stepTerm(message)) return;
    switch (message.type) {
      case 'pre-vote':
      case 'vote':
        this.handleVoteRequest(message);
        return;
      default:
        if (this.role === 'leader') this.stepLeader(message);
        else if (this.role === 'follower') this.stepFollower(message);
        else this.stepCandidate(message);
    }
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.checkCanPropose();
    return this.appendEntry('normal', data);
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } {
    this.checkCanPropose();
    if (this.pendingConfIndex > this.log.applied) {
      throw new InvalidArgumentError(
        `a membership change is already in progress (entry ${this.pendingConfIndex} is not applied yet; applied ${this.log.applied})`,
      );
    }
    this.validateConfChange(change);
    const landed = this.appendEntry('conf-change', encodeConfChange(change));
    this.pendingConfIndex = landed.index;
    return landed;
  }

  readIndex(context: Uint8Array): void {
    if (this.role === 'leader') {
      this.handleReadIndex(context, this.id);
      return;
    }
    if (this.leaderId === null) throw new NotLeaderError(null, null);
    this.send({ type: 'read-index', to: this.leaderId, term: this.term, context });
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId, null);
    if (!this.conf.voters.includes(to)) throw new InvalidArgumentError(`cannot transfer leadership to ${to}: it is not a voter`);
    if (to === this.id || this.leadTransferee === to) return;
    this.leadTransferee = null;
    this.electionElapsed_ticks = 0; // the transfer must finish within one election timeout
    this.leadTransferee = to;
    const pr = this.progress.get(to);
    assert(pr !== undefined, () => `leader has progress for voter ${to}`);
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeout-now', to, term: this.term });
    else this.sendAppend(to, true);
  }

  hasReady(): boolean {
    if (this.outstandingReady !== undefined) return false;
    if (this.broadcastPending || this.messages.length > 0 || this.readStates.length > 0) return true;
    if (this.log.unstable().length > 0 || this.log.pendingSnapshot() !== undefined) return true;
    if (this.softStateChanged() || this.hardStateChanged()) return true;
    return this.log.committed > this.log.applied;
  }

  ready(): Ready {
    assert(this.outstandingReady === undefined, 'ready() called again before advance()');
    this.flushBroadcast();
    const snapshot = this.log.pendingSnapshot();
    const softState = this.softState();
    const hardState = this.hardState();
    const ready: Ready = {
      ...(this.softStateChanged() ? { softState } : {}),
      ...(this.hardStateChanged() ? { hardState } : {}),
      entries: [...this.log.unstable()],
      ...(snapshot !== undefined ? { snapshot } : {}),
      committedEntries: snapshot !== undefined ? [] : this.log.nextCommitted(this.log.applied, this.config.maxSizePerMsg * 64),
      messages: this.messages,
      readStates: this.readStates,
    };
    this.messages = [];
    this.readStates = [];
    this.prevSoftState = softState;
    this.prevHardState = hardState;
    this.outstandingReady = ready;
    return ready;
  }

  /**
   * Leader only: the messages queued since the last ready() (pending broadcast
   * appends flushed), taken out of the next Ready so that the driver can send
   * them while it still persists the outstanding one. A leader's messages
   * promise nothing about its own disk: it counts its own copy of entries only
   * in advance(), and its term and vote were durable before it could win the
   * election. Returns [] on any other role (their responses may depend on
   * state the outstanding Ready is still persisting).
   */
  takeLeaderMessages(): Message[] {
    if (this.role !== 'leader') return [];
    this.flushBroadcast();
    const out = this.messages;
    this.messages = [];
    return out;
  }

  advance(ready: Ready): void {
    assert(ready === this.outstandingReady, 'advance() must be given the Ready returned by the last ready()');
    this.outstandingReady = undefined;
    if (ready.snapshot !== undefined) {
      const index = ready.snapshot.metadata.index;
      this.log.stableSnapshotTo(index);
      if (index > this.log.applied) this.log.appliedTo(index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    for (const entry of ready.committedEntries) {
      if (entry.index <= this.log.applied) continue; // a snapshot in between already covered it
      if (entry.type === 'conf-change') this.applyConfChange(decodeConfChange(entry.data));
      this.log.appliedTo(entry.index);
    }
    if (this.role === 'leader') {
      // The leader counts its own copy only once it is durable.
      const self = this.progress.get(this.id);
      if (self?.maybeUpdate(this.stableLastIndex()) && this.maybeCommit()) this.broadcastAppend();
    }
  }

  snapshotTaken(index: number): void {
    assert(index <= this.log.applied, () => `snapshot at ${index} is beyond applied ${this.log.applied}`);
    assert(
      this.config.storage.firstIndex() - 1 >= index || this.config.storage.snapshot().metadata.index >= index,
      () => `storage has no snapshot at ${index}`,
    );
  }

  status(): RaftStatus {
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      conf: { voters: [...this.conf.voters], learners: [...this.conf.learners] },
    };
  }

  /** Progress of each peer (leader only); for tests and diagnostics. */
  progressOf(id: NodeId): Readonly<Progress> | undefined {
    return this.progress.get(id);
  }

  leadTransfereeId(): NodeId | null {
    return this.leadTransferee;
  }

  // ------------------------------------------------------------------ state transitions

  private setTerm(term: number): void {
    assert(term >= this.term, () => `term must not go back: ${this.term} -> ${term}`);
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
      // Acks of the old term not yet handed out in a Ready: the entries they
      // acknowledge may be replaced in the new term before that Ready is
      // persisted, and an ack must only cover what is durable when it is sent.
      // Dropping them is a message loss, which the leader of that term copes with.
      if (this.messages.length > 0) this.messages = this.messages.filter((m) => m.type !== 'append-resp' || m.term >= term);
    }
  }

  private reset(term: number): void {
    this.setTerm(term);
    this.leaderId = null;
    this.electionElapsed_ticks = 0;
    this.heartbeatElapsed_ticks = 0;
    this.randomizedElectionTimeout_ticks = this.electionTimeout_ticks + Math.floor(this.config.random() * this.electionTimeout_ticks);
    assert(
      this.randomizedElectionTimeout_ticks >= this.electionTimeout_ticks && this.randomizedElectionTimeout_ticks < 2 * this.electionTimeout_ticks,
      'config.random() must return a number in [0, 1)',
    );
    this.leadTransferee = null;
    this.votes.clear();
    this.progress.clear();
    this.pendingConfIndex = 0;
    this.readOnly.clear();
    this.readsWaitingForCommit = [];
    this.broadcastPending = false;
  }

  private becomeFollower(term: number, leaderId: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leaderId;
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader does not pre-campaign');
    // The term does not change: a pre-vote is a dry run that must not disrupt anyone.
    this.votes.clear();
    this.leaderId = null;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader does not campaign');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', () => `only a candidate becomes leader (was ${this.role})`);
    assert(this.vote === this.id, 'a leader voted for itself');
    this.reset(this.term);
    this.role = 'leader';
    this.leaderId = this.id;
    const next = this.log.lastIndex() + 1;
    for (const id of this.conf.voters) this.progress.set(id, new Progress(next, this.config.maxInflightMsgs, false));
    for (const id of this.conf.learners) this.progress.set(id, new Progress(next, this.config.maxInflightMsgs, true));
    const self = this.progress.get(this.id);
    assert(self !== undefined, 'a leader is in its own configuration');
    self.maybeUpdate(this.stableLastIndex());
    self.becomeReplicate();
    self.recentActive = true;
    // The no-op commits the leader's term; conf changes wait until it is applied (single-server change safety).
    const noop = this.appendEntry('noop', new Uint8Array(0));
    this.pendingConfIndex = noop.index;
  }

  private promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteTerm: number;
    if (kind === 'pre-vote') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      // A single voter wins at once.
      if (kind === 'pre-vote') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const type = kind === 'pre-vote' ? 'pre-vote' : 'vote';
    for (const to of this.conf.voters) {
      if (to === this.id) continue;
      this.send({
        type,
        to,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        ...(kind === 'transfer' ? { context: TRANSFER_CONTEXT } : {}),
      });
    }
  }

  private poll(from: NodeId, granted: boolean): VoteResult {
    if (!this.conf.voters.includes(from)) return 'pending';
    if (!this.votes.has(from)) this.votes.set(from, granted);
    let grantedCount = 0;
    let rejectedCount = 0;
    for (const voter of this.conf.voters) {
      const answer = this.votes.get(voter);
      if (answer === true) grantedCount++;
      if (answer === false) rejectedCount++;
    }
    const quorum = this.quorum();
    if (grantedCount >= quorum) return 'won';
    if (this.conf.voters.length - rejectedCount < quorum) return 'lost';
    return 'pending';
  }

  private quorum(): number {
    return Math.floor(this.conf.voters.length / 2) + 1;
  }

  // ------------------------------------------------------------------ ticks

  private tickElection(): void {
    this.electionElapsed_ticks++;
    if (this.promotable() && this.electionElapsed_ticks >= this.randomizedElectionTimeout_ticks) {
      this.electionElapsed_ticks = 0;
      this.campaign(this.config.preVote ? 'pre-vote' : 'election');
    }
  }

  private tickLeader(): void {
    this.flushCommitToIdlePeers();
    this.heartbeatElapsed_ticks++;
    this.electionElapsed_ticks++;
    if (this.electionElapsed_ticks >= this.electionTimeout_ticks) {
      this.electionElapsed_ticks = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      if (this.leadTransferee !== null) this.leadTransferee = null; // the transfer did not finish in time: abort
    }
    if (this.heartbeatElapsed_ticks >= this.heartbeatTimeout_ticks) {
      this.heartbeatElapsed_ticks = 0;
      this.tickSnapshotWaits();
      this.broadcastHeartbeat(this.readOnly.lastContext());
    }
  }

  /** Whether a quorum of voters was heard from since the last check; clears the marks for the next window. */
  private quorumActive(): boolean {
    let active = 0;
    for (const voter of this.conf.voters) {
      const pr = this.progress.get(voter);
      if (voter === this.id || pr?.recentActive === true) active++;
    }
    for (const [id, pr] of this.progress) pr.recentActive = id === this.id;
    return active >= this.quorum();
  }

  private tickSnapshotWaits(): void {
    for (const pr of this.progress.values()) {
      if (pr.state !== 'snapshot') continue;
      pr.snapshotWait_ticks += this.heartbeatTimeout_ticks;
      if (pr.snapshotWait_ticks >= SNAPSHOT_RESEND_ELECTION_TIMEOUTS * this.electionTimeout_ticks) pr.becomeProbe(); // assume it was lost
    }
  }

  // ------------------------------------------------------------------ message handling

  /** Term rules common to every role (§5.1). Returns false when the message must be ignored. */
  private stepTerm(m: Message): boolean {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        // A node that heard from a live leader within the election timeout ignores
        // campaigns (unless the leader itself asked for one): this keeps a
        // rejoining partitioned node from disrupting a healthy cluster.
        const inLease = this.config.checkQuorum && this.leaderId !== null && this.electionElapsed_ticks < this.electionTimeout_ticks;
        if (inLease && !isTransferContext(m.context)) return false;
      }
      if (m.type === 'pre-vote') return true; // never changes our term
      if (m.type === 'pre-vote-resp' && m.reject !== true) return true; // the pre-candidate's future term
      const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
      this.becomeFollower(m.term, fromLeader ? m.from : null);
      return true;
    }
    if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // A stale leader (e.g. after a partition) learns our term and steps down.
        this.send({ type: 'append-resp', to: m.from, term: this.term });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-resp', to: m.from, term: this.term, reject: true });
      } else if (m.type === 'vote') {
        // Rejected with our term (§5.1), so the candidate moves up to it.
        // Ignored, a candidate that only this node can elect (the others
        // down, or in its eyes out of the configuration) but that we never
        // message (our own, older configuration leaves it out) could stay
        // terms behind us for ever: each of us bumps its term at each
        // timeout (simulator seed 1137, pre-vote off).
        this.send({ type: 'vote-resp', to: m.from, term: this.term, reject: true });
      }
      return false;
    }
    return true;
  }

  private handleVoteRequest(m: Message): void {
    const responseType = m.type === 'pre-vote' ? 'pre-vote-resp' : 'vote-resp';
    const canVote = this.vote === m.from || (this.vote === null && this.leaderId === null) || (m.type === 'pre-vote' && m.term > this.term);
    const upToDate = this.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0);
    const commit = this.commitProof();
    if (canVote && upToDate) {
      // A pre-vote is answered with the term it asks about, so the pre-candidate can count it.
      this.send({ type: responseType, to: m.from, term: m.term, ...commit });
      if (m.type === 'vote') {
        assert(this.vote === null || this.vote === m.from, 'one vote per term');
        this.electionElapsed_ticks = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true, ...commit });
    }
  }

  /**
   * Our commit index and the term of the entry there, sent with every answer
   * to a (pre-)vote request. Membership applies at apply time, so a node that
   * holds a committed conf change but never learned it committed counts the
   * voters of before it; when a voter is down for good nobody may be able to
   * win (simulator seeds 1289 and 1703: each live voter needs a vote that the
   * other's configuration or longer log refuses), and no leader is left to
   * tell it the commit index. A voter's answer tells it instead.
   */
  private commitProof(): { commit: number; logTerm: number } | Record<string, never> {
    const commit = this.log.committed;
    const term = this.log.term(commit);
    return commit > 0 && term !== undefined ? { commit, logTerm: term } : {};
  }

  /**
   * An index committed at the voter whose entry has the same term in our log:
   * by log matching our log equals the committed one up to it, so it is
   * committed here too (as if a leader had said so).
   */
  private learnCommitFromVoter(m: Message): void {
    if (this.role === 'leader' || m.commit === undefined || m.logTerm === undefined) return;
    if (m.commit <= this.log.committed || this.log.term(m.commit) !== m.logTerm) return;
    this.log.commitTo(m.commit);
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed_ticks = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed_ticks = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed_ticks = 0;
        this.leaderId = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeout-now':
        // The leader chose us: campaign at once, skipping pre-vote and the lease.
        this.campaign('transfer');
        return;
      case 'read-index-resp':
        assert(m.index !== undefined && m.context !== undefined, 'read-index-resp carries index and context');
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return; // responses to an earlier role, forwarded reads without a leader: ignore
    }
  }

  private stepCandidate(m: Message): void {
    const myResponse = this.role === 'pre-candidate' ? 'pre-vote-resp' : 'vote-resp';
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader exists for this term (§5.2): stand down and follow it.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'pre-vote-resp':
      case 'vote-resp': {
        if (m.type !== myResponse) return;
        const result = this.poll(m.from, m.reject !== true);
        if (result === 'won') {
          if (this.role === 'pre-candidate') this.campaign('election');
          else {
            this.becomeLeader();
            this.broadcastAppend();
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    if (m.type === 'read-index') {
      assert(m.context !== undefined, 'read-index carries a context');
      this.handleReadIndex(m.context, m.from);
      return;
    }
    assert(
      m.type !== 'append' && m.type !== 'heartbeat' && m.type !== 'snapshot',
      () => `two leaders in term ${this.term}: ${m.from} sent ${m.type} to leader ${this.id}`,
    );
    const pr = this.progress.get(m.from);
    if (pr === undefined) {
      // Not (or no longer) a member. A removed node whose ack of its own
      // removal arrives only now would otherwise never hear that the removal
      // committed; it would keep its old configuration and campaign for ever.
      // Its success ack in our term says its log matches ours up to m.index,
      // so that much of our commit index is safe to tell it.
      if (m.type === 'append-resp' && m.reject !== true && m.index !== undefined) {
        this.send({ type: 'heartbeat', to: m.from, term: this.term, commit: Math.min(m.index, this.log.committed) });
      }
      return;
    }
    if (m.type === 'append-resp') {
      pr.recentActive = true;
      this.handleAppendResponse(m, pr);
    } else if (m.type === 'heartbeat-resp') {
      pr.recentActive = true;
      this.handleHeartbeatResponse(m, pr);
    }
  }

  private handleAppend(m: Message): void {
    const prevIndex = m.index ?? 0;
    const prevTerm = m.logTerm ?? 0;
    if (prevIndex < this.log.committed) {
      // Already have (and committed) everything up to our commit; tell the leader where we are.
      this.send({ type: 'append-resp', to: m.from, term: this.term, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(prevIndex, prevTerm, m.commit ?? 0, m.entries ?? []);
    if (lastNew !== undefined) {
      this.send({ type: 'append-resp', to: m.from, term: this.term, index: lastNew });
      return;
    }
    // Fast backoff: point the leader at the last index whose term could match.
    const hintIndex = this.log.findConflictByTerm(Math.min(prevIndex, this.log.lastIndex()), prevTerm);
    this.send({
      type: 'append-resp',
      to: m.from,
      term: this.term,
      index: prevIndex,
      reject: true,
      rejectHint: hintIndex,
      logTerm: this.log.term(hintIndex) ?? 0,
    });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit ?? 0, this.log.lastIndex()));
    this.send({ type: 'heartbeat-resp', to: m.from, term: this.term, ...(m.context !== undefined ? { context: m.context } : {}) });
  }

  private handleSnapshot(m: Message): void {
    assert(m.snapshot !== undefined, 'snapshot message carries a snapshot');
    const { index, term } = m.snapshot.metadata;
    if (index <= this.log.committed) {
      this.send({ type: 'append-resp', to: m.from, term: this.term, index: this.log.committed });
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already have that prefix: just fast-forward the commit.
      this.log.commitTo(index);
      this.send({ type: 'append-resp', to: m.from, term: this.term, index: this.log.lastIndex() });
      return;
    }
    this.log.restore(m.snapshot);
    this.conf = { voters: [...m.snapshot.metadata.conf.voters].sort(), learners: [...m.snapshot.metadata.conf.learners].sort() };
    this.send({ type: 'append-resp', to: m.from, term: this.term, index: this.log.lastIndex() });
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject === true) {
      let nextProbe = m.rejectHint ?? 0;
      if ((m.logTerm ?? 0) > 0) nextProbe = this.log.findConflictByTerm(nextProbe, m.logTerm ?? 0);
      if (pr.maybeDecrTo(m.index ?? 0, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    if (m.index === undefined) return; // a bare term notification; the term check already handled it
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      return;
    }
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    // A new commit index is broadcast at once (as etcd does) only when it
    // commits a membership change or the election no-op (pendingConfIndex):
    // the configuration takes effect on each node as it applies, and a leader
    // that removes itself steps down right after. Otherwise followers learn it
    // from the next append, which under load follows within a proposal's
    // interval, or from a catch-up append at a leader tick that follows a
    // whole tick without appends (flushCommitToIdlePeers: two ticks at most). A broadcast at every commit
    // cost each follower an extra frame and answer, half again the messages of
    // a commit, for nothing a client of the leader waits on.
    const committedBefore = this.log.committed;
    if (this.maybeCommit() && committedBefore < this.pendingConfIndex && this.pendingConfIndex <= this.log.committed) this.broadcastAppend();
    else if (wasPaused) this.sendAppend(m.from, false);
    this.sendAppendsWhileOpen(m.from);

    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeout-now', to: m.from, term: this.term });
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.context === undefined) return;
    const confirmed = this.readOnly.ack(m.context, m.from, (acks) => this.countVoters(acks) >= this.quorum());
    for (const read of confirmed) this.answerRead(read.index, read.context, read.from);
  }

  private countVoters(ids: ReadonlySet<NodeId>): number {
    let count = 0;
    for (const voter of this.conf.voters) if (ids.has(voter)) count++;
    return count;
  }

  // ------------------------------------------------------------------ leader: replication and commit

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.leaderId, null);
    if (this.leadTransferee !== null) throw new NotLeaderError(this.leadTransferee, null); // leadership is moving there
  }

  private appendEntry(type: EntryType, data: Uint8Array): { index: number; term: number } {
    assert(this.role === 'leader', 'only the leader appends new entries');
    const index = this.log.lastIndex() + 1;
    const entry: Entry = { index, term: this.term, type, data };
    const last = this.log.append([entry]);
    assert(last === index, 'the leader appends at the end of its log');
    this.broadcastPending = true;
    return { index, term: this.term };
  }

  /** Sends whatever the batched proposals allow, to every follower. */
  private flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) if (id !== this.id) this.sendAppendsWhileOpen(id);
  }

  private broadcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id === this.id) continue;
      this.sendAppend(id, true);
      this.sendAppendsWhileOpen(id);
    }
  }

  private broadcastHeartbeat(context: Uint8Array | undefined): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed); // never more than the follower is known to have
      this.send({ type: 'heartbeat', to: id, term: this.term, commit, ...(context !== undefined ? { context } : {}) });
      pr.sentCommit = Math.max(pr.sentCommit, commit);
    }
  }

  /**
   * Sends the commit index to each peer that has not been told it and got no
   * append since the last tick: once traffic stops, followers learn the last
   * commit within two ticks (under traffic, appends carry it). Followers need
   * it to apply, and to answer their own ReadIndex reads; heartbeats carry it
   * too, but only every heartbeatTicks.
   */
  private flushCommitToIdlePeers(): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      if (!pr.sentSinceTick && pr.sentCommit < this.log.committed && pr.state === 'replicate') this.sendAppend(id, true);
      pr.sentSinceTick = false;
    }
  }

  /** Keeps the pipeline full; bounded by the inflight window. */
  private sendAppendsWhileOpen(to: NodeId): void {
    for (let sent = 0; sent <= this.config.maxInflightMsgs; sent++) {
      if (!this.sendAppend(to, false)) return;
    }
  }

  /** Sends one append (or a snapshot) to `to`; returns whether something was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    const lastIndex = this.log.lastIndex();
    const entries = pr.next <= lastIndex ? this.log.entries(pr.next, lastIndex + 1, this.config.maxSizePerMsg) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    pr.sentCommit = Math.max(pr.sentCommit, this.log.committed);
    pr.sentSinceTick = true;
    const last = entries[entries.length - 1];
    if (last !== undefined) pr.sentEntries(last.index);
    else if (pr.state === 'probe') pr.probeSent = true;
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot: Snapshot = this.log.pendingSnapshot() ?? this.config.storage.snapshot();
    assert(snapshot.metadata.index >= this.log.firstIndex() - 1, 'the snapshot covers everything compacted');
    if (snapshot.metadata.index === 0) return false;
    this.send({ type: 'snapshot', to, term: this.term, snapshot });
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }

  /**
   * Advances commit to the highest index replicated on a quorum of voters, but
   * only if that entry is from the current term (§5.4.2, Figure 8): an older
   * entry is committed indirectly, with the first current-term entry above it.
   */
  private maybeCommit(): boolean {
    const quorumMatch = this.quorumMatch();
    if (quorumMatch <= this.log.committed) return false;
    if (this.log.term(quorumMatch) !== this.term) return false;
    this.log.commitTo(quorumMatch);
    this.releaseReadsWaitingForCommit();
    return true;
  }

  /**
   * The highest index that a quorum of voters holds: the quorum()-th largest
   * match. Counted without sorting or allocating (this runs on every
   * acknowledgement, and a handful of voters makes the quadratic count cheap).
   */
  private quorumMatch(): number {
    const voters = this.conf.voters;
    const quorum = this.quorum();
    let best = 0;
    for (const candidate of voters) {
      const match = this.progress.get(candidate)?.match ?? 0;
      if (match <= best) continue;
      let holding = 0;
      for (const voter of voters) if ((this.progress.get(voter)?.match ?? 0) >= match) holding++;
      if (holding >= quorum) best = match;
    }
    return best;
  }

  private stableLastIndex(): number {
    // Everything before the unstable tail is durable; with a snapshot pending, nothing new is known durable.
    if (this.log.pendingSnapshot() !== undefined) return 0;
    const unstable = this.log.unstable();
    return unstable.length > 0 ? unstable[0]!.index - 1 : this.log.lastIndex();
  }

  // ------------------------------------------------------------------ ReadIndex

  private handleReadIndex(context: Uint8Array, from: NodeId): void {
    if (this.conf.voters.length === 1 && this.conf.voters[0] === this.id) {
      this.answerRead(this.log.committed, context, from);
      return;
    }
    if (this.log.term(this.log.committed) !== this.term) {
      // Our commit index may be behind the previous leader's until our no-op commits.
      if (this.readsWaitingForCommit.length < MAX_READS_WAITING_FOR_COMMIT) this.readsWaitingForCommit.push({ context, from });
      return;
    }
    if (this.readOnly.add(this.log.committed, context, from, this.id)) this.broadcastHeartbeat(context);
  }

  private releaseReadsWaitingForCommit(): void {
    const waiting = this.readsWaitingForCommit;
    this.readsWaitingForCommit = [];
    for (const read of waiting) this.handleReadIndex(read.context, read.from);
  }

  private answerRead(index: number, context: Uint8Array, from: NodeId): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send({ type: 'read-index-resp', to: from, term: this.term, index, context });
  }

  // ------------------------------------------------------------------ membership

  private validateConfChange(change: ConfChange): void {
    const isVoter = this.conf.voters.includes(change.nodeId);
    const isLearner = this.conf.learners.includes(change.nodeId);
    if (change.type === 'add-voter' && isVoter) throw new InvalidArgumentError(`${change.nodeId} is already a voter`);
    if (change.type === 'add-learner' && (isVoter || isLearner))
      throw new InvalidArgumentError(`${change.nodeId} is already a member; demoting a voter is not supported`);
    if (change.type === 'remove-node') {
      if (!isVoter && !isLearner) throw new InvalidArgumentError(`${change.nodeId} is not a member`);
      if (isVoter && this.conf.voters.length === 1) throw new InvalidArgumentError(`cannot remove ${change.nodeId}: it is the last voter`);
    }
  }

  /** Applies a committed conf change (apply-time semantics, as etcd: the new configuration counts from here). */
  private applyConfChange(change: ConfChange): void {
    this.conf = applyConfChangeTo(this.conf, change);
    if (this.role === 'candidate' || this.role === 'pre-candidate') {
      // A campaign started under the old configuration must not win for a node that is no longer a voter.
      if (!this.promotable()) this.becomeFollower(this.term, null);
      return;
    }
    if (this.role !== 'leader') return;
    if (change.type === 'remove-node') {
      this.progress.delete(change.nodeId);
      if (change.nodeId === this.id) {
        this.becomeFollower(this.term, null); // removed: stop leading; the rest elect a new leader
        return;
      }
      if (this.leadTransferee === change.nodeId) this.leadTransferee = null;
    } else {
      const isLearner = change.type === 'add-learner';
      const existing = this.progress.get(change.nodeId);
      if (existing !== undefined) existing.isLearner = isLearner;
      else {
        const pr = new Progress(this.log.lastIndex() + 1, this.config.maxInflightMsgs, isLearner);
        pr.recentActive = true; // give a new member one check-quorum window to answer
        this.progress.set(change.nodeId, pr);
      }
    }
    // The quorum changed: commit may move, and new members need entries.
    if (this.maybeCommit()) this.broadcastAppend();
    this.broadcastPending = true;
  }

  // ------------------------------------------------------------------ plumbing

  private send(message: Omit<Message, 'from'>): void {
    assert(this.messages.length < MAX_QUEUED_MESSAGES, 'too many queued messages: the driver is not calling ready()');
    assert(message.to !== this.id, 'a node does not message itself');
    this.messages.push({ ...message, from: this.id } as Message);
  }

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softStateChanged(): boolean {
    return this.prevSoftState.role !== this.role || this.prevSoftState.leaderId !== this.leaderId;
  }

  private hardStateChanged(): boolean {
    const prev = this.prevHardState;
    return prev.term !== this.term || prev.vote !== this.vote || prev.commit !== this.log.committed;
  }
}
