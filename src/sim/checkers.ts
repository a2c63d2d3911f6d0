import type { Entry, HardState, Message, NodeId, RaftStatus } from '../raft/types.ts';

/** A safety property was violated: the message names the property and the evidence. */
export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

function entryDigest(entry: Entry): string {
  return `${entry.type}:${Buffer.from(entry.data).toString('base64')}`;
}

interface NodeWatermarks {
  incarnation: number;
  term: number;
  commit: number;
  applied: number;
}

/**
 * The Raft safety properties (§5.2 Figure 3), checked after every simulation
 * step against what each node persisted, committed and applied:
 *
 * - election safety: at most one leader per term;
 * - log matching: an (index, term) pair names one entry content and one
 *   previous term, cluster-wide and for all time. By induction on the index,
 *   this is equivalent to "logs that share an (index, term) are identical up
 *   to there", and it can be checked entry by entry as entries are persisted;
 * - leader completeness: every committed entry is in the log of every leader
 *   of a later term (checked when a node is first seen leading a term);
 * - state machine safety: every node applies the same entry at each index;
 * - monotonicity: within one process lifetime, term, commit and applied never
 *   go back (across a crash, the durable term never goes back either);
 * - votes: a vote is durable before it is sent, no node votes for two
 *   candidates in one term across its restarts (onSend), a durable vote is
 *   never replaced within its term (onDurableHardState), and a node restarts
 *   with the term and vote it last made durable (onRestart);
 * - acknowledgements: an accepting append-resp covers only entries durable on
 *   the sender's disk (onAckSent), and every commit index a leader announces
 *   is backed by durable copies on a quorum of voters (onCommitAnnounced).
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly entryAt = new Map<string, { digest: string; prevTerm: number; node: NodeId }>(); // key "index:term"
  private readonly committed = new Map<number, { term: number; digest: string; node: NodeId; seenInTerm: number }>(); // index -> committed entry, and the term of whoever saw it committed first (>= the term that committed it)
  private readonly appliedAt = new Map<number, { digest: string; node: NodeId }>();
  private readonly watermarks = new Map<NodeId, NodeWatermarks>();
  private readonly leadersChecked = new Set<string>(); // "node:term" already checked for completeness
  private readonly durableTerm = new Map<NodeId, number>();
  /** "node:term" -> whom the node voted for in that term, and in which incarnation it first did. */
  private readonly votes = new Map<string, { readonly for: NodeId; readonly incarnation: number }>();
  /** Each node's last durable term and vote. */
  private readonly durableVote = new Map<NodeId, { readonly term: number; readonly vote: NodeId | null }>();
  /** "index:term" -> the nodes on whose disk that entry was ever durable (a committed entry is never legitimately lost again). */
  private readonly durableCopies = new Map<string, NodeId[]>();
  /** Each node's highest durable snapshot index (it holds every committed entry up to there). */
  private readonly durableSnapshot = new Map<NodeId, number>();
  maxCommitted = 0;
  votesSeen = 0;
  /** Accepting append-resps and commit announcements checked. */
  acksChecked = 0;
  commitsChecked = 0;
  checks = 0;

  /** A node made `entries` durable; `termAt` reads its stored log (undefined when compacted). */
  onPersistEntries(node: NodeId, entries: readonly Entry[], termAt: (index: number) => number | undefined): void {
    this.onDurableCopies(node, entries);
    for (const entry of entries) {
      const prevTerm = termAt(entry.index - 1);
      if (prevTerm === undefined) continue;
      const key = `${entry.index}:${entry.term}`;
      const digest = entryDigest(entry);
      const known = this.entryAt.get(key);
      if (known === undefined) {
        this.entryAt.set(key, { digest, prevTerm, node });
      } else if (known.digest !== digest || known.prevTerm !== prevTerm) {
        throw new SafetyViolation(
          'log matching',
          `entry ${key} on ${node} (prev term ${prevTerm}) differs from the one on ${known.node} (prev term ${known.prevTerm})`,
        );
      }
    }
  }

  /** `entries` are durable on `node`'s disk (appended and synced, or found there at its first start). */
  onDurableCopies(node: NodeId, entries: readonly Entry[]): void {
    for (const entry of entries) {
      const key = `${entry.index}:${entry.term}`;
      const holders = this.durableCopies.get(key);
      if (holders === undefined) this.durableCopies.set(key, [node]);
      else if (!holders.includes(node)) holders.push(node);
    }
  }

  /** A snapshot at `index` is durable on `node` (installed from the leader, or its own). */
  onDurableSnapshot(node: NodeId, index: number): void {
    if (index > (this.durableSnapshot.get(node) ?? 0)) this.durableSnapshot.set(node, index);
  }

  /**
   * A node sends an accepting append-resp for `message.index`: the entries it
   * acknowledges must be durable already (its log's durable last index covers
   * them, and no segment file could change in a power loss); the leader
   * counts the ack toward commit.
   */
  onAckSent(message: Message, durableLastIndex: number, notDurable: string | null): void {
    this.acksChecked++;
    const index = message.index ?? 0;
    if (index > durableLastIndex) {
      throw new SafetyViolation(
        'ack durable before sent',
        `${message.from} acknowledged index ${index} to ${message.to} in term ${message.term} while its durable log ends at ${durableLastIndex}`,
      );
    }
    if (notDurable !== null) {
      throw new SafetyViolation(
        'ack durable before sent',
        `${message.from} acknowledged index ${index} to ${message.to} in term ${message.term} while its log is not durable: ${notDurable}`,
      );
    }
  }

  /**
   * A leader announces `commit` (its entry there has `term`): a majority of
   * the voters of a configuration it had since its previous announcement in
   * this term (it counted under one of them; conf changes may have applied
   * before the announcing message left) must hold that entry durably.
   */
  onCommitAnnounced(leader: NodeId, leaderTerm: number, commit: number, term: number, voterSets: readonly (readonly NodeId[])[]): void {
    this.commitsChecked++;
    const holders = this.durableCopies.get(`${commit}:${term}`) ?? [];
    const holds = (id: NodeId): boolean => holders.includes(id) || (this.durableSnapshot.get(id) ?? 0) >= commit;
    let best = '';
    for (const voters of voterSets) {
      const durable = voters.filter(holds);
      if (durable.length * 2 > voters.length) return;
      best ||= `durable on ${durable.length ? durable.join(',') : 'none'} of voters ${voters.join(',')}`;
    }
    throw new SafetyViolation('commit quorum durable', `${leader} announced commit ${commit} (term ${term}) in term ${leaderTerm}, but that entry is ${best}`);
  }

  /**
   * Every message a node sends, with the node's durable hard state at that
   * moment. A granted vote (vote-resp without reject) and a vote request (the
   * candidate voted for itself) must be durable before they are sent (or a
   * later term must be: one Ready may grant a vote in term T and move on to
   * T+1; the node can then never vote in T again), and no
   * node votes for two candidates in one term across its restarts.
   */
  onSend(message: Message, incarnation: number, durable: HardState): void {
    let votedFor: NodeId;
    if (message.type === 'vote-resp' && message.reject !== true) votedFor = message.to;
    else if (message.type === 'vote') votedFor = message.from;
    else return;
    const node = message.from;
    // A durable later term covers it too: the node can never vote in that term again.
    if (durable.term < message.term || (durable.term === message.term && durable.vote !== votedFor)) {
      throw new SafetyViolation(
        'vote durable before sent',
        `${node} sent its vote for ${votedFor} in term ${message.term} while its durable hard state is term ${durable.term} vote ${String(durable.vote)}`,
      );
    }
    const key = `${node}:${message.term}`;
    const known = this.votes.get(key);
    if (known === undefined) {
      this.votes.set(key, { for: votedFor, incarnation });
      this.votesSeen++;
    } else if (known.for !== votedFor) {
      throw new SafetyViolation(
        'one vote per term',
        `${node} voted for ${known.for} in term ${message.term} (incarnation ${known.incarnation}) and for ${votedFor} in the same term (incarnation ${incarnation})`,
      );
    }
  }

  /** A node wrote its hard state: within one term, a vote once durable never changes (nor goes). */
  onDurableHardState(node: NodeId, state: HardState): void {
    this.onDurableTerm(node, state.term);
    const before = this.durableVote.get(node);
    if (before !== undefined && before.term === state.term && before.vote !== null && state.vote !== before.vote) {
      throw new SafetyViolation('vote kept', `${node} replaced its durable vote for ${before.vote} in term ${state.term} by ${String(state.vote)}`);
    }
    this.durableVote.set(node, { term: state.term, vote: state.vote });
  }

  /** A node (re)starts from `initial`: the term and vote it last made durable. */
  onRestart(node: NodeId, initial: HardState, incarnation: number): void {
    const before = this.durableVote.get(node);
    if (before === undefined) return;
    if (initial.term !== before.term || initial.vote !== before.vote) {
      throw new SafetyViolation(
        'vote kept',
        `${node} restarted (incarnation ${incarnation}) in term ${initial.term} with vote ${String(initial.vote)}, but it last made term ${before.term} vote ${String(before.vote)} durable`,
      );
    }
  }

  onDurableTerm(node: NodeId, term: number): void {
    const before = this.durableTerm.get(node) ?? 0;
    if (term < before) throw new SafetyViolation('term monotonicity', `${node} persisted term ${term} after ${before}`);
    this.durableTerm.set(node, term);
  }

  /** A node's state after a step; `entriesBetween` reads its log for newly committed entries. */
  onStatus(
    status: RaftStatus,
    incarnation: number,
    firstIndex: number,
    termAt: (index: number) => number | undefined,
    entriesBetween: (lo: number, hi: number) => readonly Entry[],
  ): void {
    this.checks++;
    const node = status.id;
    const marks = this.watermarks.get(node);
    if (marks !== undefined && marks.incarnation === incarnation) {
      if (status.term < marks.term) throw new SafetyViolation('term monotonicity', `${node} went from term ${marks.term} to ${status.term}`);
      if (status.commit < marks.commit) throw new SafetyViolation('commit monotonicity', `${node} went from commit ${marks.commit} to ${status.commit}`);
      if (status.applied < marks.applied) throw new SafetyViolation('applied monotonicity', `${node} went from applied ${marks.applied} to ${status.applied}`);
    }
    const previousCommit = marks !== undefined && marks.incarnation === incarnation ? marks.commit : 0;
    this.watermarks.set(node, { incarnation, term: status.term, commit: status.commit, applied: status.applied });

    if (status.role === 'leader') {
      const leader = this.leaderOfTerm.get(status.term);
      if (leader !== undefined && leader !== node) {
        throw new SafetyViolation('election safety', `${leader} and ${node} are both leaders of term ${status.term}`);
      }
      this.leaderOfTerm.set(status.term, node);
      const checkKey = `${node}:${status.term}`;
      if (!this.leadersChecked.has(checkKey)) {
        this.leadersChecked.add(checkKey);
        this.checkLeaderCompleteness(node, status.term, firstIndex, termAt);
      }
    }

    const lo = Math.max(previousCommit + 1, firstIndex);
    if (status.commit >= lo) {
      for (const entry of entriesBetween(lo, status.commit + 1)) this.recordCommitted(node, entry, status.term);
    }
  }

  private recordCommitted(node: NodeId, entry: Entry, seenInTerm: number): void {
    const digest = entryDigest(entry);
    const known = this.committed.get(entry.index);
    if (known === undefined) {
      this.committed.set(entry.index, { term: entry.term, digest, node, seenInTerm });
      this.maxCommitted = Math.max(this.maxCommitted, entry.index);
    } else if (known.term !== entry.term || known.digest !== digest) {
      throw new SafetyViolation(
        'committed entries are permanent',
        `${node} committed ${entry.index}:${entry.term} but ${known.node} committed ${entry.index}:${known.term} there`,
      );
    }
  }

  private checkLeaderCompleteness(node: NodeId, term: number, firstIndex: number, termAt: (index: number) => number | undefined): void {
    for (const [index, committed] of this.committed) {
      if (index < firstIndex) continue; // folded into the leader's snapshot
      // Only leaders of later terms than the one that committed it must have it (a
      // stale candidate can still win an older term with delayed votes).
      if (committed.seenInTerm >= term) continue;
      const have = termAt(index);
      if (have !== committed.term) {
        throw new SafetyViolation(
          'leader completeness',
          `${node} leads term ${term} but has term ${String(have)} at index ${index}, where ${committed.node} committed term ${committed.term}`,
        );
      }
    }
  }

  onApply(node: NodeId, entry: Entry): void {
    const digest = entryDigest(entry);
    const known = this.appliedAt.get(entry.index);
    if (known === undefined) this.appliedAt.set(entry.index, { digest, node });
    else if (known.digest !== digest) {
      throw new SafetyViolation('state machine safety', `${node} applied a different entry at ${entry.index} than ${known.node}`);
    }
  }
}
