/**
 * The client's half of exactly-once requests, for a session the cluster
 * opened (its id comes from a register command): numbers each request once
 * (a retry keeps its number) and tells the cluster which answers it no
 * longer needs kept (everything below its lowest unanswered request).
 */
import { assert } from '../../errors/index.ts';
import type { SessionTag } from './envelope.ts';

export class ClientSession {
  private nextSeq = 1;
  /** Requests begun and not yet finished. */
  private readonly open = new Set<number>();
  /**
   * No request below this is open. It only moves up, one number at a time,
   * so finding the lowest open request costs O(1) per request overall (the
   * first key of a Set that has seen many deletions is not O(1) in V8).
   */
  private lowestMaybeOpen = 1;

  /** `clientId`: as the cluster issued it (ExactlyOnceStateMachine's register). */
  constructor(readonly clientId: string) {}

  /** A new request's number. */
  begin(): number {
    const seq = this.nextSeq++;
    this.open.add(seq);
    return seq;
  }

  /** The tag to send with (each attempt of) request `seq`. */
  tag(seq: number): SessionTag {
    assert(this.open.has(seq), () => `session request ${seq} is not open`);
    return { clientId: this.clientId, seq, ackedBelow: this.ackedBelow() };
  }

  /**
   * Request `seq` got its answer, or the client gave up on it. Either way it
   * is never sent again, so the cluster may forget its result.
   */
  finish(seq: number): void {
    this.open.delete(seq);
  }

  private ackedBelow(): number {
    while (this.lowestMaybeOpen < this.nextSeq && !this.open.has(this.lowestMaybeOpen)) this.lowestMaybeOpen++;
    return this.lowestMaybeOpen;
  }
}
