/**
 * The archive outbox, drained by the leader: finished jobs are written to the
 * store (idempotent on job id and attempt, so a retry or a new leader writing
 * them again doubles nothing), then an `archived` entry takes them out of the
 * replicated state. PostgreSQL down: the store call fails, the jobs stay in
 * the outbox, and the drain backs off and tries again; nothing is lost and
 * proving goes on (submits are refused only once the outbox is full).
 *
 * Without a store, finished jobs leave the state `finishedRetain_ms` after
 * they finished (or sooner when the outbox is half full), so the state stays
 * bounded; they are then forgotten.
 */
import type { ServiceContext } from './context.ts';
import { archiveRecordOf, jobEventsOf } from './store-port.ts';

const BACKOFF_MS_MIN = 100;
const BACKOFF_MS_MAX = 5_000;
const FAILURE_LOG_INTERVAL_MS = 30_000;

export class ArchiveDrain {
  private inFlight = false;
  private backoff_ms = 0;
  private notBefore_ms = 0;
  private lastFailureLog_ms = 0;
  private failures = 0;

  constructor(private readonly ctx: ServiceContext) {}

  /** Runs one batch if one is due and none is in flight; `active` says whether this node still leads. */
  async step(active: () => boolean): Promise<void> {
    if (this.inFlight || !active()) return;
    const now_ms = Date.now();
    if (now_ms < this.notBefore_ms) return;
    const { machine, options, store, proposer, logger } = this.ctx;
    let batch = machine.finishedUnarchived(options.archiveBatch);
    if (batch.length === 0) return;
    const open = store.get();
    if (open === null) {
      const crowded = machine.counts().finishedUnarchived > machine.options.finishedMax / 2;
      batch = crowded ? batch : batch.filter((job) => job.finished_ms + options.finishedRetain_ms <= now_ms);
      if (batch.length === 0) return;
    }
    this.inFlight = true;
    try {
      if (open !== null) {
        await open.archiveJobs(batch.map(archiveRecordOf));
        await open.appendJobEvents(batch.flatMap(jobEventsOf));
      }
      if (!active()) return;
      await proposer.propose({ type: 'archived', jobIds: batch.map((job) => job.id) });
      if (this.failures > 0) logger.info({ failures: this.failures }, 'archiving resumed');
      this.failures = 0;
      this.backoff_ms = 0;
    } catch (error) {
      this.failures++;
      this.backoff_ms = Math.min(BACKOFF_MS_MAX, Math.max(BACKOFF_MS_MIN, this.backoff_ms * 2));
      this.notBefore_ms = Date.now() + this.backoff_ms;
      if (Date.now() - this.lastFailureLog_ms >= FAILURE_LOG_INTERVAL_MS) {
        this.lastFailureLog_ms = Date.now();
        logger.warn(
          { error: (error as Error).message, failures: this.failures, retry_ms: this.backoff_ms },
          'archiving failed; finished jobs stay in the state and are retried',
        );
      }
    } finally {
      this.inFlight = false;
    }
  }
}
