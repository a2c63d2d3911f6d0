/**
 * The scheduling policy the leader runs after changes: which queued job goes
 * to which worker. Pure: the same view gives the same plan.
 *
 * Order of jobs: higher priority first, then the earliest deadline (a job
 * with none comes after every job with one), then FIFO (submit order).
 * A job past its deadline is skipped (the next tick expires it).
 *
 * A worker qualifies for a job when it is alive, has a free slot, and can
 * prove the circuit: it has a GPU backend (webgpu) whose adapter holds the
 * circuit's GPU estimate, or a CPU backend (native, snarkjs) with host
 * memory for the CPU estimate (memory 0 = not reported: assumed enough).
 * Among those: a worker with the circuit resident first, then one that did
 * not hold the job's previous attempt (a retry goes elsewhere when it can),
 * then the most free slots, then the lowest id (determinism).
 *
 * A job no qualifying worker can take now stays queued; the jobs behind it
 * are still considered (a big job does not block small ones: there is no
 * reservation, so a big job can wait while small ones keep arriving).
 */
import { assert } from '../../errors/index.ts';
import type { CircuitRecord, JobRecord, WorkerRecord } from '../state/records.ts';
import type { PlannedAssignment, SchedulerView } from './view.ts';

export const GPU_BACKENDS: readonly string[] = ['webgpu'];
export const CPU_BACKENDS: readonly string[] = ['native', 'snarkjs'];

/**
 * Memory a prove of the circuit needs, a heuristic: the proving key
 * (points in memory take about what the zkey takes on disk) twice over
 * (parsed bases plus working buffers), plus three field vectors of the
 * domain (A, B, C evaluations for the NTTs, 32 bytes each) and the witness.
 */
export function estimateProveMemory_bytes(circuit: CircuitRecord): number {
  return 2 * circuit.zkey_bytes + 3 * 32 * circuit.domain_size + 32 * circuit.n_vars;
}

/** Which backend kinds of `worker` can prove `circuit` by memory. */
export function canProve(worker: WorkerRecord, circuit: CircuitRecord): boolean {
  const need_bytes = estimateProveMemory_bytes(circuit);
  const hostFits = worker.memory_bytes === 0 || worker.memory_bytes >= need_bytes;
  const hasCpu = worker.backends.some((b) => CPU_BACKENDS.includes(b));
  if (hasCpu && hostFits) return true;
  const hasGpu = worker.backends.some((b) => GPU_BACKENDS.includes(b));
  // The adapter's limit is its largest buffer; the largest buffer holds one set of bases (about a zkey).
  const gpuFits = worker.gpu !== null && (worker.gpu.memory_bytes === 0 || worker.gpu.memory_bytes >= circuit.zkey_bytes);
  return hasGpu && gpuFits && hostFits;
}

/** Negative when a should be assigned before b. */
export function compareJobs(a: JobRecord, b: JobRecord): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const da = a.deadline_ms === 0 ? Number.POSITIVE_INFINITY : a.deadline_ms;
  const db = b.deadline_ms === 0 ? Number.POSITIVE_INFINITY : b.deadline_ms;
  if (da !== db) return da < db ? -1 : 1;
  return a.seq - b.seq;
}

interface Candidate {
  readonly worker: WorkerRecord;
  free: number;
  readonly resident: ReadonlySet<string>;
}

/**
 * Up to `limit` assignments for the view at `now_ms` (the leader's clock,
 * at least view.clock_ms for deadlines). Each job and each slot is used at
 * most once in a plan.
 */
export function planAssignments(view: SchedulerView, now_ms: number, limit: number): PlannedAssignment[] {
  assert(Number.isSafeInteger(limit) && limit >= 0, () => `plan limit must be a non-negative integer, got ${limit}`);
  const clock_ms = Math.max(now_ms, view.clock_ms);
  const candidates: Candidate[] = [];
  let freeSlots = 0;
  for (const worker of view.workers) {
    const free = worker.slots - worker.current_jobs.length;
    if (!worker.alive || free <= 0) continue;
    candidates.push({ worker, free, resident: new Set(worker.resident_circuits) });
    freeSlots += free;
  }
  const plan: PlannedAssignment[] = [];
  if (freeSlots === 0 || limit === 0) return plan;
  candidates.sort((a, b) => (a.worker.id < b.worker.id ? -1 : a.worker.id > b.worker.id ? 1 : 0));

  // A heap of the queue: only as many jobs are taken from it as get placed or
  // are skipped, so a long queue and few free slots cost O(n + k log n).
  const heap = new JobHeap([...view.queued].filter((job) => job.deadline_ms === 0 || job.deadline_ms > clock_ms));
  const unfit = new Set<string>(); // circuit ids no free worker can prove now
  while (plan.length < limit && freeSlots > 0) {
    const job = heap.pop();
    if (job === undefined) break;
    if (unfit.has(job.circuit_id)) continue;
    const circuit = view.circuit(job.circuit_id);
    if (circuit === undefined) continue;
    const chosen = chooseWorker(candidates, circuit, job);
    if (chosen === null) {
      unfit.add(job.circuit_id);
      continue;
    }
    chosen.free--;
    freeSlots--;
    plan.push({ jobId: job.id, workerId: chosen.worker.id, attempt: job.attempts + 1 });
  }
  return plan;
}

function chooseWorker(candidates: readonly Candidate[], circuit: CircuitRecord, job: JobRecord): Candidate | null {
  let best: Candidate | null = null;
  let bestRank: readonly number[] = [];
  for (const candidate of candidates) {
    if (candidate.free <= 0 || !canProve(candidate.worker, circuit)) continue;
    // Lower is better, compared in order; candidates are in id order, so the first best wins ties.
    const rank = [candidate.resident.has(circuit.id) ? 0 : 1, job.attempts > 0 && candidate.worker.id === job.worker_id ? 1 : 0, -candidate.free];
    if (best === null || lexLess(rank, bestRank)) {
      best = candidate;
      bestRank = rank;
    }
  }
  return best;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}

/** A binary min-heap of jobs by compareJobs. */
class JobHeap {
  constructor(private readonly items: JobRecord[]) {
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  pop(): JobRecord | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && compareJobs(items[l]!, items[m]!) < 0) m = l;
      if (r < n && compareJobs(items[r]!, items[m]!) < 0) m = r;
      if (m === i) return;
      const t = items[i]!;
      items[i] = items[m]!;
      items[m] = t;
      i = m;
    }
  }
}
