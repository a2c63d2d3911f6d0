/**
 * Simulated clients: one registers the circuits, then each submits jobs
 * with an idempotency key, retrying the same key through timeouts, redirects
 * and leader changes until it is answered; a full queue is retried after the
 * hint. Now and then a client cancels one of its jobs.
 */
import { assert } from '../../errors/index.ts';
import type { Prng } from '../prng.ts';
import type { JobChecker } from './checker.ts';
import { simCircuitSpec } from './coordinator.ts';
import type { ServiceMessage } from './messages.ts';
import { SIM_TIMING } from './timing.ts';

export interface ClientHooks {
  send(from: string, to: string, message: ServiceMessage): void;
  readonly coordinators: readonly string[];
  readonly checker: JobChecker;
  /** Takes one job from the run's budget; false when spent. */
  takeJob(): boolean;
  note(line: string): void;
}

/** The circuits of every run: a small one and one some workers may have resident. */
export const SIM_CIRCUITS = [
  { name: 'mul', zkey_bytes: 10_000 },
  { name: 'poseidon', zkey_bytes: 2_000_000 },
] as const;

type Request = Extract<ServiceMessage, { type: 'register-circuit' | 'submit' | 'cancel' }>;

interface Outstanding {
  readonly request: Request;
  /** When to send it (again). */
  next_tick: number;
  /** The next send follows a redirect or a retry hint (else it is a timeout: try another coordinator). */
  keepGuess: boolean;
  tries: number;
}

export class SimClient {
  private leaderGuess: string;
  private outstanding: Outstanding | null = null;
  private nextReq = 0;
  private nextKey = 0;
  private readonly myJobs: string[] = [];
  private readonly circuitsToRegister: (typeof SIM_CIRCUITS)[number][];
  answered = 0;
  refusedFull = 0;

  constructor(
    readonly id: string,
    registersCircuits: boolean,
    private readonly prng: Prng,
    private readonly hooks: ClientHooks,
    private readonly circuitsReady: () => boolean,
    private readonly onCircuitRegistered: () => void,
  ) {
    this.leaderGuess = prng.pick(hooks.coordinators);
    this.circuitsToRegister = registersCircuits ? [...SIM_CIRCUITS] : [];
  }

  get idle(): boolean {
    return this.outstanding === null;
  }

  /** A request still unanswered (for the end-of-run check). */
  describeOutstanding(): string | null {
    return this.outstanding === null ? null : `${this.id} ${this.outstanding.request.type} ${this.outstanding.request.reqId} (${this.outstanding.tries} tries)`;
  }

  step(now_tick: number, submitProbability: number): void {
    const out = this.outstanding;
    if (out !== null) {
      if (now_tick < out.next_tick) return;
      // No answer in time: maybe lost, maybe applied; the same request (same key) again, elsewhere.
      if (!out.keepGuess) this.leaderGuess = this.prng.pick(this.hooks.coordinators);
      this.resend(now_tick);
      return;
    }
    const circuit = this.circuitsToRegister.shift();
    if (circuit !== undefined) {
      this.issue(now_tick, { type: 'register-circuit', reqId: this.reqId(), name: circuit.name, zkey_bytes: circuit.zkey_bytes });
      return;
    }
    if (!this.circuitsReady() || !this.prng.chance(submitProbability)) return;
    if (this.myJobs.length > 0 && this.prng.chance(0.08)) {
      this.issue(now_tick, { type: 'cancel', reqId: this.reqId(), jobId: this.prng.pick(this.myJobs) });
      return;
    }
    if (!this.hooks.takeJob()) return;
    const circuit2 = this.prng.pick(SIM_CIRCUITS);
    this.issue(now_tick, {
      type: 'submit',
      reqId: this.reqId(),
      circuitId: simCircuitSpec(circuit2.name, circuit2.zkey_bytes).id,
      idempotencyKey: `${this.id}-k${this.nextKey++}`,
      priority: this.prng.range(-1, 1),
      timeout_ms: this.prng.chance(0.25) ? this.prng.range(300, 4000) : 0,
      maxAttempts: this.prng.range(0, 3),
    });
  }

  private reqId(): string {
    return `${this.id}.${this.nextReq++}`;
  }

  private issue(now_tick: number, request: Request): void {
    this.outstanding = { request, next_tick: now_tick, keepGuess: true, tries: 0 };
    this.resend(now_tick);
  }

  private resend(now_tick: number): void {
    const out = this.outstanding;
    assert(out !== null, 'resend with nothing outstanding');
    out.next_tick = now_tick + SIM_TIMING.requestTimeout_ticks;
    out.keepGuess = false;
    out.tries++;
    this.hooks.send(this.id, this.leaderGuess, out.request);
  }

  receive(now_tick: number, from: string, message: ServiceMessage): void {
    const out = this.outstanding;
    if (out === null || !('reqId' in message) || message.reqId !== out.request.reqId) return; // a late or duplicate answer
    if (message.type === 'not-leader') {
      this.leaderGuess = message.leaderHint ?? this.prng.pick(this.hooks.coordinators.filter((id) => id !== from));
      // Follow the redirect at once (the SDK does), but not in a tight loop.
      out.next_tick = now_tick + 1;
      out.keepGuess = true;
      return;
    }
    if (message.type !== 'reply') return;
    const result = message.result;
    this.leaderGuess = from;
    if (result.ok === false && result.code === 'RESOURCE_EXHAUSTED') {
      this.refusedFull++;
      const wait_ticks = Math.ceil(Number(result.retryAfter_ms ?? 500) / SIM_TIMING.tick_ms);
      out.next_tick = now_tick + wait_ticks;
      out.keepGuess = true;
      return;
    }
    this.outstanding = null;
    this.answered++;
    const request = out.request;
    if (request.type === 'register-circuit') {
      assert(result.ok === true, () => `register-circuit refused: ${JSON.stringify(result)}`);
      this.onCircuitRegistered();
    } else if (request.type === 'submit') {
      assert(result.ok === true, () => `submit ${request.idempotencyKey} refused: ${JSON.stringify(result)}`);
      const jobId = String(result.jobId);
      this.hooks.checker.onAcknowledged(this.id, request.idempotencyKey, jobId);
      if (!this.myJobs.includes(jobId)) this.myJobs.push(jobId);
    } else {
      // Cancelled, or already finished (FAILED_PRECONDITION), or finished and archived (NOT_FOUND).
      assert(result.ok === true || result.code === 'FAILED_PRECONDITION' || result.code === 'NOT_FOUND', () => `cancel refused: ${JSON.stringify(result)}`);
    }
  }
}
