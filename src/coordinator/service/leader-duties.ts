/**
 * What only the leader does, from the moment it leads until it stops:
 *
 * 1. propose `leader-start` (every live worker's lease restarts from now: a
 *    new leader does not trust timers it did not run); nothing below runs
 *    before it is applied;
 * 2. propose `tick` every tick_ms while anything can expire (leases, deadlines);
 * 3. turn the heartbeats it heard into one `renew-leases` entry every lease/3;
 * 4. run the scheduler after every change (and every tick) and propose its
 *    plan as one `assign` entry; the change listener pushes the assignments;
 *    and end every batch entry that holds submits with a `schedule` command,
 *    which plans at apply time, so a job submitted while a worker is free is
 *    assigned by the commit that queues it (one fsync'd round, not two);
 * 5. drain the archive outbox (archive-drain.ts).
 *
 * One proposal of each kind in flight at a time; a failed one is retried on
 * the next turn. Each leadership term gets a fresh run; stop() ends it.
 */
import { planAssignments } from '../scheduler/plan.ts';
import { ArchiveDrain } from './archive-drain.ts';
import type { ServiceContext } from './context.ts';

/** Assignments planned per `assign` entry at most. */
const ASSIGN_BATCH_MAX = 256;
const ARCHIVE_PERIOD_MS = 200;
const RETRY_MS = 100;

interface Run {
  active: boolean;
  started: boolean;
  readonly timers: NodeJS.Timeout[];
  tickInFlight: boolean;
  renewInFlight: boolean;
  assignInFlight: boolean;
  scheduleQueued: boolean;
  dirty: boolean;
}

export class LeaderDuties {
  private run: Run | null = null;
  private readonly archive: ArchiveDrain;

  constructor(private readonly ctx: ServiceContext) {
    this.archive = new ArchiveDrain(ctx);
  }

  get leading(): boolean {
    return this.run?.active === true;
  }

  /** Leading, and this term's leader-start is applied: everything committed before the term is applied here. */
  get ready(): boolean {
    return this.run?.active === true && this.run.started;
  }

  start(): void {
    if (this.run !== null) return;
    const run: Run = {
      active: true,
      started: false,
      timers: [],
      tickInFlight: false,
      renewInFlight: false,
      assignInFlight: false,
      scheduleQueued: false,
      dirty: true,
    };
    this.run = run;
    this.ctx.logger.info({ term: this.ctx.node.status().term }, 'leader duties start');
    void this.leaderStart(run);
  }

  stop(): void {
    const run = this.run;
    if (run === null) return;
    run.active = false;
    for (const timer of run.timers) clearInterval(timer);
    this.run = null;
    this.ctx.proposer.setBatchTail(null);
    this.ctx.heartbeats.clear();
    this.ctx.logger.info({}, 'leader duties stop');
  }

  /** A change was applied: plan again soon (coalesced to one run per turn of the event loop). */
  schedulerDirty(): void {
    const run = this.run;
    if (run === null || !run.started) return;
    run.dirty = true;
    if (run.scheduleQueued) return;
    run.scheduleQueued = true;
    setImmediate(() => {
      run.scheduleQueued = false;
      void this.schedule(run);
    });
  }

  private async leaderStart(run: Run): Promise<void> {
    while (run.active) {
      try {
        await this.ctx.proposer.propose({ type: 'leader-start' });
        break;
      } catch (error) {
        if (!run.active) return;
        this.ctx.logger.debug({ error: (error as Error).message }, 'leader-start not applied yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    if (!run.active) return;
    run.started = true;
    this.ctx.proposer.setBatchTail({
      commandFor: (types) => (run.active && types.has('submit') ? { type: 'schedule', limit: ASSIGN_BATCH_MAX } : null),
      settled: (outcome) => {
        if (outcome instanceof Error) this.ctx.logger.debug({ error: outcome.message }, 'schedule not applied; the scheduler plans on the next change');
      },
    });
    const { tick_ms, lease_ms } = this.ctx.options;
    run.timers.push(setInterval(() => void this.tick(run), tick_ms));
    run.timers.push(setInterval(() => void this.renew(run), Math.max(50, Math.floor(lease_ms / 3))));
    run.timers.push(setInterval(() => void this.archive.step(() => run.active), ARCHIVE_PERIOD_MS));
    this.schedulerDirty();
  }

  private async tick(run: Run): Promise<void> {
    if (!run.active || run.tickInFlight) return;
    const counts = this.ctx.machine.counts();
    if (counts.active === 0 && counts.workersAlive === 0) return;
    run.tickInFlight = true;
    try {
      const result = await this.ctx.proposer.propose({ type: 'tick' });
      if (result.deadWorkerIds.length > 0 || result.expiredJobIds.length > 0 || result.failedJobIds.length > 0) {
        this.ctx.logger.info(
          { dead: result.deadWorkerIds, requeued: result.requeuedJobIds, failed: result.failedJobIds, expired: result.expiredJobIds },
          'tick: leases and deadlines',
        );
      }
    } catch (error) {
      this.ctx.logger.debug({ error: (error as Error).message }, 'tick not applied');
    } finally {
      run.tickInFlight = false;
    }
    run.dirty = true;
    void this.schedule(run);
  }

  private async renew(run: Run): Promise<void> {
    if (!run.active || run.renewInFlight || this.ctx.heartbeats.pending === 0) return;
    const renewals = this.ctx.heartbeats.take();
    run.renewInFlight = true;
    try {
      const result = await this.ctx.proposer.propose({ type: 'renew-leases', renewals });
      if (result.revivedWorkerIds.length > 0) this.ctx.logger.info({ revived: result.revivedWorkerIds }, 'workers alive again');
    } catch (error) {
      if (run.active) this.ctx.heartbeats.giveBack(renewals);
      this.ctx.logger.debug({ error: (error as Error).message }, 'renew-leases not applied; kept for the next batch');
    } finally {
      run.renewInFlight = false;
    }
  }

  private async schedule(run: Run): Promise<void> {
    if (!run.active || !run.started || run.assignInFlight || !run.dirty) return;
    run.dirty = false;
    const plan = planAssignments(this.ctx.machine.schedulerView(), Date.now(), ASSIGN_BATCH_MAX);
    if (plan.length === 0) return;
    run.assignInFlight = true;
    try {
      const result = await this.ctx.proposer.propose({ type: 'assign', assignments: plan });
      const refused = result.outcomes.filter((outcome) => !outcome.ok);
      if (refused.length > 0) this.ctx.logger.debug({ refused }, 'assignments refused (the plan was stale)');
    } catch (error) {
      this.ctx.logger.debug({ error: (error as Error).message }, 'assign not applied; planning again shortly');
      run.assignInFlight = false;
      setTimeout(() => this.schedulerDirty(), RETRY_MS).unref();
      return;
    }
    run.assignInFlight = false;
    if (run.dirty) this.schedulerDirty();
  }
}
