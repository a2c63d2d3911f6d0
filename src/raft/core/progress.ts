import { assert } from '../../errors/index.ts';
import { Inflights } from './inflights.ts';

/**
 * probe: the leader does not know where the follower's log matches; it sends
 *   one append at a time and waits for the answer.
 * replicate: the logs match up to `match`; appends stream optimistically, up
 *   to maxInflightMsgs unacknowledged.
 * snapshot: the follower needs entries the leader compacted; a snapshot is in
 *   flight and nothing else is sent until it is acknowledged or times out.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one peer. */
export class Progress {
  match = 0; // invariant: highest index known to be in the peer's log; never decreases while this leader leads
  next: number; // invariant: next > match
  state: ProgressState = 'probe';
  probeSent = false; // probe state: an append is out and unanswered
  pendingSnapshot = 0; // snapshot state: index of the snapshot sent
  snapshotWait_ticks = 0; // snapshot state: ticks since the snapshot was sent (resend after a bound)
  recentActive = false; // heard from the peer within the current check-quorum window
  sentCommit = 0; // the highest commit index sent to the peer (in an append or heartbeat)
  sentSinceTick = false; // an append went to the peer since the leader's last tick
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, isLearner: boolean) {
    assert(next >= 1, `progress next must be >= 1, got ${next}`);
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMsgs);
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotWait_ticks = 0;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the peer has at least the snapshot's index.
    const floor = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.resetState('probe');
    this.next = floor + 1;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `index`; returns whether it told us something new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Optimistic advance after sending entries up to `lastSent` in replicate state. */
  sentEntries(lastSent: number): void {
    if (this.state === 'replicate') {
      this.next = lastSent + 1;
      this.inflights.add(lastSent);
    } else {
      this.probeSent = true;
    }
    assert(this.next > this.match, 'progress next must stay above match');
  }

  /**
   * A rejection of the append whose previous index was `rejected`; `hintIndex`
   * is where the leader should probe next. Returns false for a stale answer.
   */
  maybeDecrTo(rejected: number, hintIndex: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false; // stale: already matched past it
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // stale: not the probe we are waiting for
    this.next = Math.max(Math.min(rejected, hintIndex + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent;
    if (this.state === 'replicate') return this.inflights.full();
    return true;
  }
}
