import { assert } from '../../errors/index.ts';
import type { NodeId } from '../types.ts';

/** A ReadIndex request waiting for a quorum of heartbeat acknowledgements. */
export interface PendingRead {
  readonly index: number; // the leader's commit index when the read arrived
  readonly context: Uint8Array;
  readonly from: NodeId; // who asked (the leader itself, or a follower that forwarded it)
  readonly acks: Set<NodeId>;
}

/** Bound on queued reads; beyond it new reads are dropped and their clients time out. */
export const MAX_PENDING_READS = 4096;

export function contextKey(context: Uint8Array): string {
  return Buffer.from(context).toString('hex');
}

/**
 * ReadIndex requests in arrival order. A quorum acknowledging a later request
 * confirms every earlier one too (leadership was confirmed after they arrived).
 */
export class ReadOnlyQueue {
  private readonly queue: PendingRead[] = []; // invariant: indexes non-decreasing
  private readonly byKey = new Map<string, PendingRead>();

  get size(): number {
    return this.queue.length;
  }

  add(index: number, context: Uint8Array, from: NodeId, self: NodeId): boolean {
    const key = contextKey(context);
    if (this.byKey.has(key) || this.queue.length >= MAX_PENDING_READS) return false;
    const last = this.queue[this.queue.length - 1];
    assert(last === undefined || last.index <= index, 'read indexes must not go back');
    const read: PendingRead = { index, context, from, acks: new Set([self]) };
    this.queue.push(read);
    this.byKey.set(key, read);
    return true;
  }

  /** Records an ack; returns the reads now confirmed (removed from the queue), oldest first. */
  ack(context: Uint8Array, from: NodeId, hasQuorum: (acks: ReadonlySet<NodeId>) => boolean): PendingRead[] {
    const read = this.byKey.get(contextKey(context));
    if (read === undefined) return [];
    read.acks.add(from);
    if (!hasQuorum(read.acks)) return [];
    const position = this.queue.indexOf(read);
    assert(position >= 0, 'a keyed read is in the queue');
    const confirmed = this.queue.splice(0, position + 1);
    for (const done of confirmed) this.byKey.delete(contextKey(done.context));
    return confirmed;
  }

  lastContext(): Uint8Array | undefined {
    return this.queue[this.queue.length - 1]?.context;
  }

  clear(): void {
    this.queue.length = 0;
    this.byKey.clear();
  }
}
