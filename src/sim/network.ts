import { assert } from '../errors/index.ts';
import type { Message, NodeId } from '../raft/types.ts';
import type { Prng } from '../random/prng.ts';

export interface NetworkOptions {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  /** Each message is delayed by a uniform number of ticks in [0, maxDelay_ticks]; different delays reorder. */
  readonly maxDelay_ticks: number;
  /** Bound on messages in flight; beyond it new messages are dropped (a congested network). */
  readonly maxInFlight: number;
}

interface InFlight {
  readonly message: Message;
  readonly deliverAt_tick: number;
}

/** A simulated network: lossy, duplicating, reordering, partitionable (per direction). */
export class SimNetwork {
  private inFlight: InFlight[] = [];
  private readonly blocked = new Set<string>(); // "from->to" links that drop everything
  sent = 0;
  dropped = 0;

  private lossless = false; // set for the calm period at the end of a run

  constructor(
    private readonly options: NetworkOptions,
    private readonly prng: Prng,
  ) {}

  /** Heals partitions and stops drops and duplicates (delays and reordering stay). */
  calm(): void {
    this.heal();
    this.lossless = true;
  }

  send(message: Message, now_tick: number): void {
    this.sent++;
    const lost = !this.lossless && this.prng.chance(this.options.dropProbability);
    if (this.isBlocked(message.from, message.to) || lost || this.inFlight.length >= this.options.maxInFlight) {
      this.dropped++;
      return;
    }
    const copies = !this.lossless && this.prng.chance(this.options.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.inFlight.push({ message, deliverAt_tick: now_tick + this.prng.range(0, this.options.maxDelay_ticks) });
    }
  }

  /** Delivers a copy of an earlier message again at `at_tick` (a duplicate held in the network); cuts still apply. */
  redeliver(message: Message, at_tick: number): void {
    this.inFlight.push({ message, deliverAt_tick: at_tick });
  }

  /** Removes and returns the messages due by `now_tick` for nodes that can receive, in random order. */
  takeDue(now_tick: number, canReceive: (id: NodeId) => boolean): Message[] {
    const due: Message[] = [];
    const kept: InFlight[] = [];
    for (const item of this.inFlight) {
      if (item.deliverAt_tick <= now_tick && canReceive(item.message.to)) {
        // A partition raised while the message was in flight still cuts it.
        if (this.isBlocked(item.message.from, item.message.to)) this.dropped++;
        else due.push(item.message);
      } else kept.push(item);
    }
    this.inFlight = kept;
    return this.prng.shuffle(due);
  }

  /** Drops everything addressed to `id` (its process died; its sockets are gone). */
  dropTo(id: NodeId): void {
    this.inFlight = this.inFlight.filter((item) => item.message.to !== id);
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  block(from: NodeId, to: NodeId): void {
    assert(from !== to, 'a node cannot be partitioned from itself');
    this.blocked.add(`${from}->${to}`);
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}->${to}`);
  }

  /** Symmetric partition: no traffic between the groups. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups)
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.block(from, to);
      }
  }

  heal(): void {
    this.blocked.clear();
  }

  describePartition(): string {
    return [...this.blocked].sort().join(' ');
  }
}
