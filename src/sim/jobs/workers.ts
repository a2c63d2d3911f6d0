/**
 * Simulated workers: register, heartbeat the leader, prove what they are
 * assigned (a random number of ticks), report running / complete / fail and
 * resend a report until it is answered; they die (and come back with the same
 * id), stall, get cut off, and now and then send a completion again long
 * after it was answered (a late duplicate).
 */
import type { Prng } from '../prng.ts';
import type { JobRef, ServiceMessage } from './messages.ts';
import { simProof } from './messages.ts';
import { SIM_TIMING } from './timing.ts';

export interface WorkerHooks {
  send(from: string, to: string, message: ServiceMessage): void;
  readonly coordinators: readonly string[];
  note(line: string): void;
}

interface RunningJob {
  readonly job: JobRef;
  readonly circuitId: string;
  readonly started_tick: number;
  readonly done_tick: number;
}

interface OutgoingReport {
  readonly message: Extract<ServiceMessage, { reqId: string }>;
  sent_tick: number;
}

export class SimWorker {
  alive = true;
  paused_until_tick = 0;
  private registered = false;
  private registerSent_tick = -1_000;
  private registerReqId = '';
  private leaderGuess: string;
  private lastHeartbeat_tick = -1_000;
  private lastHeartbeatReply_tick = 0;
  private readonly running = new Map<string, RunningJob>();
  /** (job, attempt) pairs this incarnation finished: an assign of one again is a stale re-send. */
  private readonly done = new Set<string>();
  private readonly outbox = new Map<string, OutgoingReport>();
  /** Late duplicates to send at a tick. */
  private readonly late: { at_tick: number; message: Extract<ServiceMessage, { type: 'report-complete' }> }[] = [];
  private readonly resident = new Set<string>();
  private nextReq = 0;
  completions = 0;

  constructor(
    readonly id: string,
    readonly slots: number,
    private readonly prng: Prng,
    private readonly hooks: WorkerHooks,
  ) {
    this.leaderGuess = prng.pick(hooks.coordinators);
  }

  isPaused(now_tick: number): boolean {
    return now_tick < this.paused_until_tick;
  }

  crash(): void {
    this.alive = false;
    this.registered = false;
    this.running.clear();
    this.done.clear();
    this.outbox.clear();
    this.late.length = 0;
    this.resident.clear();
  }

  restart(now_tick: number): void {
    this.alive = true;
    this.registered = false;
    this.registerSent_tick = -1_000;
    this.lastHeartbeatReply_tick = now_tick;
  }

  private reqId(): string {
    return `${this.id}.${this.nextReq++}`;
  }

  private send(message: ServiceMessage): void {
    this.hooks.send(this.id, this.leaderGuess, message);
  }

  private otherCoordinator(): void {
    this.leaderGuess = this.prng.pick(this.hooks.coordinators);
  }

  step(now_tick: number): void {
    if (!this.alive || this.isPaused(now_tick)) return;
    if (!this.registered) {
      if (now_tick - this.registerSent_tick >= SIM_TIMING.requestTimeout_ticks) {
        if (this.registerSent_tick > 0) this.otherCoordinator();
        this.registerSent_tick = now_tick;
        this.registerReqId = this.reqId();
        this.send({ type: 'register-worker', reqId: this.registerReqId, workerId: this.id, slots: this.slots, keepJobIds: [...this.running.keys()] });
      }
      return;
    }
    if (now_tick - this.lastHeartbeatReply_tick > SIM_TIMING.heartbeatSilence_ticks) {
      this.otherCoordinator();
      this.lastHeartbeatReply_tick = now_tick;
    }
    if (now_tick - this.lastHeartbeat_tick >= SIM_TIMING.heartbeat_ticks) {
      this.lastHeartbeat_tick = now_tick;
      this.send({ type: 'heartbeat', workerId: this.id, running: [...this.running.values()].map((r) => r.job), resident: [...this.resident].sort() });
    }
    for (const run of [...this.running.values()]) {
      if (now_tick < run.done_tick) continue;
      this.running.delete(run.job.jobId);
      this.done.add(key(run.job));
      this.resident.add(run.circuitId);
      const roll = this.prng.int(100);
      const reqId = this.reqId();
      let message: OutgoingReport['message'];
      if (roll < 82) {
        message = {
          type: 'report-complete',
          reqId,
          workerId: this.id,
          job: run.job,
          proofJson: simProof(run.job, this.id),
          prove_ms: (now_tick - run.started_tick) * SIM_TIMING.tick_ms,
        };
        this.completions++;
        if (this.prng.chance(0.15)) this.late.push({ at_tick: now_tick + this.prng.range(20, 200), message: { ...message, reqId: this.reqId() } });
      } else {
        message = { type: 'report-fail', reqId, workerId: this.id, job: run.job, permanent: roll >= 97 };
      }
      this.outbox.set(reqId, { message, sent_tick: now_tick });
      this.send(message);
    }
    for (const report of this.outbox.values()) {
      if (now_tick - report.sent_tick < SIM_TIMING.requestTimeout_ticks) continue;
      report.sent_tick = now_tick;
      this.otherCoordinator();
      this.send(report.message);
    }
    for (let i = this.late.length - 1; i >= 0; i--) {
      const late = this.late[i]!;
      if (now_tick < late.at_tick) continue;
      this.late.splice(i, 1);
      this.send(late.message);
    }
  }

  receive(now_tick: number, from: string, message: ServiceMessage): void {
    if (!this.alive) return;
    switch (message.type) {
      case 'not-leader': {
        if (message.leaderHint !== null) this.leaderGuess = message.leaderHint;
        else if (from === this.leaderGuess) this.otherCoordinator();
        // Resend what that coordinator refused on the next step, once: resending per redirect
        // would multiply a report by every duplicated redirect (it did, exponentially, in seed 10380).
        const report = this.outbox.get(message.reqId);
        if (report !== undefined) report.sent_tick = Math.min(report.sent_tick, now_tick + 1 - SIM_TIMING.requestTimeout_ticks);
        else if (message.reqId === this.registerReqId && !this.registered) this.registerSent_tick = -1_000;
        return;
      }
      case 'reply':
        if (message.reqId === this.registerReqId) {
          if (message.result.ok === true) {
            this.registered = true;
            this.leaderGuess = from;
            this.lastHeartbeatReply_tick = now_tick;
            this.lastHeartbeat_tick = -1_000;
          }
          return;
        }
        this.outbox.delete(message.reqId);
        return;
      case 'assign':
        this.start(now_tick, message.job, message.circuitId);
        return;
      case 'revoke':
        this.revoke(message.job);
        return;
      case 'heartbeat-reply':
        this.lastHeartbeatReply_tick = now_tick;
        this.leaderGuess = from;
        if (message.unknownWorker) {
          this.registered = false;
          this.registerSent_tick = -1_000;
          return;
        }
        for (const ref of message.revoke) this.revoke(ref);
        for (const assignment of message.assignments) this.start(now_tick, assignment, assignment.circuitId);
        return;
      default:
        return;
    }
  }

  private start(now_tick: number, job: JobRef, circuitId: string): void {
    if (this.done.has(key(job))) return;
    const current = this.running.get(job.jobId);
    if (current !== undefined && current.job.attempt >= job.attempt) return; // a re-sent or stale assign
    const prove_ticks = this.prng.range(SIM_TIMING.proveMin_ticks, SIM_TIMING.proveMax_ticks) / (this.resident.has(circuitId) ? 2 : 1);
    this.running.set(job.jobId, { job, circuitId, started_tick: now_tick, done_tick: now_tick + Math.ceil(prove_ticks) });
    if (this.prng.chance(0.7)) {
      const reqId = this.reqId();
      const message = { type: 'report-running' as const, reqId, workerId: this.id, job };
      this.outbox.set(reqId, { message, sent_tick: now_tick });
      this.send(message);
    }
  }

  private revoke(job: JobRef): void {
    const current = this.running.get(job.jobId);
    if (current !== undefined && current.job.attempt === job.attempt) this.running.delete(job.jobId);
  }
}

function key(job: JobRef): string {
  return `${job.jobId}#${job.attempt}`;
}
