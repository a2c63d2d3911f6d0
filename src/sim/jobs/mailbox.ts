/**
 * The simulated network between clients, workers and coordinators (the gRPC
 * side; Raft's own traffic uses SimNetwork): lossy, duplicating, delaying
 * and reordering, with endpoints that can be cut off.
 */
import type { Prng } from '../prng.ts';
import type { ServiceMessage } from './messages.ts';

export interface MailboxOptions {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  readonly maxDelay_ticks: number;
}

interface InFlight {
  readonly from: string;
  readonly to: string;
  readonly message: ServiceMessage;
  readonly deliverAt_tick: number;
}

export class SimMailbox {
  private inFlight: InFlight[] = [];
  /** Endpoints cut off from everyone (their messages both ways are lost). */
  private readonly isolated = new Set<string>();
  private lossless = false;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly options: MailboxOptions,
    private readonly prng: Prng,
  ) {}

  send(from: string, to: string, message: ServiceMessage, now_tick: number): void {
    this.sent++;
    if (this.isolated.has(from) || this.isolated.has(to) || (!this.lossless && this.prng.chance(this.options.dropProbability))) {
      this.dropped++;
      return;
    }
    const copies = !this.lossless && this.prng.chance(this.options.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) this.inFlight.push({ from, to, message, deliverAt_tick: now_tick + this.prng.range(0, this.options.maxDelay_ticks) });
  }

  /** Messages due by now_tick to endpoints that can receive, in random order. */
  takeDue(now_tick: number, canReceive: (id: string) => boolean): { from: string; to: string; message: ServiceMessage }[] {
    const due: InFlight[] = [];
    const kept: InFlight[] = [];
    for (const item of this.inFlight) {
      if (item.deliverAt_tick > now_tick || !canReceive(item.to)) kept.push(item);
      else if (this.isolated.has(item.from) || this.isolated.has(item.to)) this.dropped++;
      else due.push(item);
    }
    this.inFlight = kept;
    return this.prng.shuffle(due);
  }

  /** Everything addressed to `id` is lost (its process died). */
  dropTo(id: string): void {
    this.inFlight = this.inFlight.filter((item) => item.to !== id);
  }

  isolate(id: string): void {
    this.isolated.add(id);
  }

  heal(): void {
    this.isolated.clear();
  }

  describeIsolated(): string {
    return [...this.isolated].sort().join(',');
  }

  /** No more loss or duplication, no isolation (delays stay). */
  calm(): void {
    this.heal();
    this.lossless = true;
  }
}
