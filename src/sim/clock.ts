import type { ReadyLoopClock } from '../raft/driver/ready-loop.ts';

/** Simulated milliseconds per tick: the production default tick (10 ms), so timeouts in ms mean what they mean there. */
export const SIM_TICK_MS = 10;

/** The simulation's one time axis, shared by every node. */
export interface SimTime {
  readonly now_tick: number;
}

interface Scheduled {
  readonly at_tick: number;
  readonly sequence: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * One simulated process's clock and scheduler: timers, deferred work (the
 * microtasks of a real process) and the completions of its disk writes. A
 * crash throws the whole object away, so nothing of a dead process runs
 * later. Events due at one tick run in the order they were scheduled, each
 * followed by the deferred work it left, as one event-loop turn does.
 */
export class SimClock implements ReadyLoopClock {
  private readonly deferred: (() => void)[] = [];
  private events: Scheduled[] = [];
  private sequence = 0;
  private dead = false;
  /** Runs after each turn (the simulator kills a process there, between two turns). */
  afterTurn: (() => void) | null = null;

  constructor(private readonly time: SimTime) {}

  now_ms(): number {
    return this.time.now_tick * SIM_TICK_MS;
  }

  setTimer(delay_ms: number, fn: () => void): unknown {
    return this.at(this.time.now_tick + Math.max(1, Math.ceil(delay_ms / SIM_TICK_MS)), fn);
  }

  clearTimer(handle: unknown): void {
    (handle as Scheduled).cancelled = true;
  }

  defer(fn: () => void): void {
    if (!this.dead) this.deferred.push(fn);
  }

  /** Runs `fn` (one turn) at `at_tick`, or in the next round of this tick when that is now. */
  at(at_tick: number, fn: () => void): Scheduled {
    const event: Scheduled = { at_tick, sequence: this.sequence++, fn, cancelled: false };
    this.events.push(event);
    return event;
  }

  /** The process died: nothing scheduled runs any more. */
  kill(): void {
    this.dead = true;
    this.events = [];
    this.deferred.length = 0;
  }

  /** Runs an input (a tick, a message, a client call) as one turn: it, then the work it deferred. */
  turn(fn: () => void): void {
    if (this.dead) return;
    fn();
    this.runDeferred();
    this.afterTurn?.();
  }

  /** Runs every event due by now, oldest first, each as its own turn. */
  runDue(): void {
    if (this.dead || this.events.length === 0) return;
    const now = this.time.now_tick;
    const due = this.events.filter((event) => event.at_tick <= now);
    if (due.length === 0) return;
    this.events = this.events.filter((event) => event.at_tick > now);
    due.sort((a, b) => a.at_tick - b.at_tick || a.sequence - b.sequence);
    for (const event of due) {
      if (this.dead) return;
      if (!event.cancelled) this.turn(event.fn);
    }
  }

  private runDeferred(): void {
    for (let i = 0; i < this.deferred.length && !this.dead; i++) this.deferred[i]!();
    this.deferred.length = 0;
  }
}
