import { assert } from '../../errors/index.ts';

/**
 * The pipeline window of one follower: the last index of each append message
 * sent and not yet acknowledged, oldest first. Bounded by maxInflightMsgs.
 */
export class Inflights {
  private readonly lastIndexes: number[] = []; // invariant: strictly increasing, length <= capacity
  constructor(readonly capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0, `inflight capacity must be a positive integer, got ${capacity}`);
  }

  get count(): number {
    return this.lastIndexes.length;
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  add(lastIndex: number): void {
    assert(!this.full(), 'cannot add to a full inflight window');
    const newest = this.lastIndexes[this.lastIndexes.length - 1];
    assert(newest === undefined || lastIndex > newest, () => `inflight indexes must increase: ${lastIndex} after ${newest}`);
    this.lastIndexes.push(lastIndex);
  }

  /** Frees every message whose last index is <= `index` (acknowledged). */
  freeLE(index: number): void {
    let freed = 0;
    while (freed < this.lastIndexes.length && (this.lastIndexes[freed] ?? Infinity) <= index) freed++;
    this.lastIndexes.splice(0, freed);
  }

  freeFirstOne(): void {
    this.lastIndexes.shift();
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}
