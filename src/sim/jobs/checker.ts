/**
 * The job simulation's checkers. During the run:
 * - replicas agree: every node's result for an index, and its snapshot at an
 *   index, are the same bytes;
 * - a job is SUCCEEDED at most once (one entry index for all nodes), and the
 *   recorded proof is the one made by the attempt, and the worker, that were
 *   current (not a late report of an older attempt);
 * - an idempotency key acknowledged to a client names one job only;
 * - the archive receives one result per job (re-archiving after a failover
 *   writes the same row).
 * (Two live leases on one job, attempts going back, terminal states left:
 * the state machine's own invariants, checked after every apply.)
 * At the end, after the calm period: every acknowledged job is known (in the
 * state or the archive) and terminal; every client request was answered.
 */
import type { JobChange } from '../../coordinator/state/changes.ts';
import { isTerminalState, type JobRecord } from '../../coordinator/state/records.ts';
import type { NodeId } from '../../raft/types.ts';
import { SafetyViolation } from '../checkers.ts';
import { parseSimProof } from './messages.ts';

export interface ArchivedJob {
  readonly id: string;
  readonly state: string;
  readonly attempts: number;
  readonly proof_json: string;
}

export class JobChecker {
  private readonly results = new Map<number, string>();
  private readonly snapshots = new Map<number, string>();
  private readonly succeededAt = new Map<string, number>();
  /** Idempotency key -> the job id acknowledged to the client. */
  readonly acknowledged = new Map<string, string>();
  /** The simulated PostgreSQL archive: job id -> what was written. */
  readonly archived = new Map<string, ArchivedJob>();
  successes = 0;
  ignoredReports = 0;
  /** Requeues seen (each once, however many replicas applied it). */
  private readonly requeues = new Set<string>();
  private currentIndex = 0;

  onApplied(node: NodeId, index: number, result: Uint8Array): void {
    const text = Buffer.from(result).toString('latin1');
    const earlier = this.results.get(index);
    if (earlier === undefined) this.results.set(index, text);
    else if (earlier !== text)
      throw new SafetyViolation('determinism', `${node} answered entry ${index} with ${preview(text)}; another replica with ${preview(earlier)}`);
    if (text.includes('"accepted":false')) this.ignoredReports++;
    this.currentIndex = index;
  }

  onSnapshot(node: NodeId, index: number, data: Uint8Array): void {
    const text = Buffer.from(data).toString('latin1');
    const earlier = this.snapshots.get(index);
    if (earlier === undefined) this.snapshots.set(index, text);
    else if (earlier !== text) throw new SafetyViolation('determinism', `${node}'s snapshot at index ${index} differs from another replica's`);
  }

  get requeued(): number {
    return this.requeues.size;
  }

  onChange(node: NodeId, change: JobChange): void {
    if (change.kind === 'job-requeued') this.requeues.add(`${change.index}:${change.job.id}`);
    if (change.kind !== 'job-finished' || change.job.state !== 'SUCCEEDED') return;
    const job = change.job;
    const at = this.succeededAt.get(job.id);
    if (at !== undefined && at !== change.index)
      throw new SafetyViolation('completed twice', `${job.id} SUCCEEDED at entry ${at} and again at entry ${change.index} (on ${node})`);
    if (at === undefined) {
      this.succeededAt.set(job.id, change.index);
      this.successes++;
    }
    const proof = parseSimProof(job.proof_json);
    if (proof.job !== job.id || proof.attempt !== job.attempts || proof.worker !== job.worker_id) {
      throw new SafetyViolation(
        'stale result recorded',
        `${job.id} SUCCEEDED at entry ${change.index} with the proof of attempt ${proof.attempt} by ${proof.worker}, but its current attempt is ${job.attempts} held by ${job.worker_id}`,
      );
    }
  }

  onAcknowledged(clientId: string, idempotencyKey: string, jobId: string): void {
    const earlier = this.acknowledged.get(idempotencyKey);
    if (earlier !== undefined && earlier !== jobId)
      throw new SafetyViolation('duplicate job', `${clientId}'s key ${idempotencyKey} was answered with ${earlier} and later with ${jobId}`);
    this.acknowledged.set(idempotencyKey, jobId);
  }

  /** The leader writes a finished job to the archive (idempotent on job id + attempt, as the store is). */
  archive(job: JobRecord): void {
    if (!isTerminalState(job.state)) throw new SafetyViolation('archive', `${job.id} archived while ${job.state}`);
    const row: ArchivedJob = { id: job.id, state: job.state, attempts: job.attempts, proof_json: job.proof_json };
    const earlier = this.archived.get(job.id);
    if (earlier !== undefined && JSON.stringify(earlier) !== JSON.stringify(row))
      throw new SafetyViolation('archive', `${job.id} archived as ${JSON.stringify(earlier)} and again as ${JSON.stringify(row)}`);
    this.archived.set(job.id, row);
  }

  /** After the calm period: no acknowledged job lost, and every one finished. */
  checkEnd(lookup: (jobId: string) => JobRecord | undefined): void {
    for (const [key, jobId] of this.acknowledged) {
      const live = lookup(jobId);
      const archived = this.archived.get(jobId);
      if (live === undefined && archived === undefined)
        throw new SafetyViolation('lost job', `${jobId} (key ${key}) was acknowledged but is neither in the state nor in the archive`);
      if (live !== undefined && !isTerminalState(live.state))
        throw new SafetyViolation(
          'liveness',
          `${jobId} (key ${key}) is still ${live.state} after the calm period (attempt ${live.attempts}/${live.max_attempts}, worker ${live.worker_id || '-'})`,
        );
    }
  }

  get lastIndex(): number {
    return this.currentIndex;
  }
}

function preview(text: string): string {
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
}
