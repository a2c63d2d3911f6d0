/**
 * WatchJob streams on this node, and the in-memory progress of running jobs.
 *
 * Every node applies every command, so any node can serve a watch from its
 * applied state: the job state machine's change listener calls `jobChanged`
 * and each watcher of that job gets the new record. Progress beyond RUNNING
 * is not replicated: the leader keeps the latest report per job here and
 * pushes it to its own watchers (a watcher on a follower sees state changes
 * only). A restore from a snapshot emits no changes, so watchers are also
 * re-checked on a slow timer against the state (records are immutable: a
 * different object is a change).
 */
import type { ProgressMessage } from '../../api/types.ts';
import { isTerminalState, type JobRecord } from '../state/records.ts';

export interface JobWatcher {
  /** Called with the job's new record and its latest progress (null when none). */
  send(job: JobRecord, progress: ProgressMessage | null): void;
  /** The job left the state (archived) before this watcher saw it finish. */
  gone(jobId: string): void;
  /** The node stops serving it (closing): end the stream with this error. */
  close(error: unknown): void;
}

interface Watch {
  readonly watcher: JobWatcher;
  last: JobRecord | null;
}

interface JobProgress {
  readonly attempt: number;
  readonly progress: ProgressMessage;
}

/** Bounds the progress map: one entry per active job at most, never more than this. */
const PROGRESS_ENTRIES_MAX = 100_000;

export class WatchHub {
  private readonly watches = new Map<string, Set<Watch>>();
  private readonly progress = new Map<string, JobProgress>();

  watcherCount(): number {
    let count = 0;
    for (const set of this.watches.values()) count += set.size;
    return count;
  }

  /** Registers a watcher (after the caller sent the current record); returns the function that removes it. */
  add(jobId: string, watcher: JobWatcher, current: JobRecord): () => void {
    const watch: Watch = { watcher, last: current };
    let set = this.watches.get(jobId);
    if (set === undefined) {
      set = new Set();
      this.watches.set(jobId, set);
    }
    set.add(watch);
    return () => {
      const now = this.watches.get(jobId);
      if (now === undefined) return;
      now.delete(watch);
      if (now.size === 0) this.watches.delete(jobId);
    };
  }

  progressOf(job: JobRecord): ProgressMessage | null {
    const entry = this.progress.get(job.id);
    return entry !== undefined && entry.attempt === job.attempts && job.state === 'RUNNING' ? entry.progress : null;
  }

  /** From the change listener (every node). */
  jobChanged(job: JobRecord): void {
    if (job.state !== 'RUNNING') this.progress.delete(job.id);
    const set = this.watches.get(job.id);
    if (set === undefined) return;
    const progress = this.progressOf(job);
    for (const watch of [...set]) {
      watch.last = job;
      watch.watcher.send(job, progress);
    }
    if (isTerminalState(job.state)) this.watches.delete(job.id);
  }

  /** From the change listener: the job left the state. */
  jobArchived(jobId: string): void {
    this.progress.delete(jobId);
    const set = this.watches.get(jobId);
    if (set === undefined) return;
    this.watches.delete(jobId);
    for (const watch of set) watch.watcher.gone(jobId);
  }

  /** The leader's record of a worker's progress report; pushed to this node's watchers. */
  reportProgress(job: JobRecord, progress: ProgressMessage): void {
    if (!this.progress.has(job.id) && this.progress.size >= PROGRESS_ENTRIES_MAX) return;
    this.progress.set(job.id, { attempt: job.attempts, progress });
    const set = this.watches.get(job.id);
    if (set === undefined) return;
    for (const watch of [...set]) watch.watcher.send(job, progress);
  }

  /** Re-checks every watched job against the state (after a snapshot restore, which emits no changes). */
  resync(lookup: (jobId: string) => JobRecord | undefined): void {
    for (const [jobId, set] of [...this.watches]) {
      const job = lookup(jobId);
      if (job === undefined) {
        this.jobArchived(jobId);
        continue;
      }
      for (const watch of [...set]) {
        if (watch.last === job) continue;
        watch.last = job;
        watch.watcher.send(job, this.progressOf(job));
      }
      if (isTerminalState(job.state)) this.watches.delete(jobId);
    }
  }

  /** Ends every watch with `error` (the node is closing). */
  closeAll(error: unknown): void {
    const all = [...this.watches.values()].flatMap((set) => [...set]);
    this.watches.clear();
    for (const watch of all) watch.watcher.close(error);
  }
}
