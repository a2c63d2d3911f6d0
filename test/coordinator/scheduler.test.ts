import { describe, expect, it } from 'vitest';
import { canProve, compareJobs, estimateProveMemory_bytes, planAssignments } from '../../src/coordinator/scheduler/plan.ts';
import type { SchedulerView } from '../../src/coordinator/scheduler/view.ts';
import type { CircuitRecord, JobRecord, WorkerRecord } from '../../src/coordinator/state/records.ts';
import { circuitSpec, Harness } from './state-fixtures.ts';

const SMALL: CircuitRecord = { ...circuitSpec('small', 1000), registered_ms: 0 };
const BIG: CircuitRecord = { ...circuitSpec('big', 4 * 2 ** 30), registered_ms: 0 };

let seq = 0;
function job(extra: Partial<JobRecord> = {}): JobRecord {
  seq++;
  return {
    id: `job-${seq}`,
    seq,
    circuit_id: SMALL.id,
    state: 'QUEUED',
    priority: 0,
    deadline_ms: 0,
    idempotency_key: '',
    attempts: 0,
    max_attempts: 3,
    worker_id: '',
    error_code: '',
    error_message: '',
    proof_json: '',
    public_json: '',
    backend: '',
    input: { kind: 'json', json: '{}' },
    submitted_ms: 0,
    assigned_ms: 0,
    started_ms: 0,
    finished_ms: 0,
    prove_ms: 0,
    ...extra,
  };
}

function worker(id: string, extra: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id,
    address: '',
    backends: ['native'],
    gpu: null,
    memory_bytes: 0,
    threads: 1,
    slots: 1,
    resident_circuits: [],
    lease_ms: 1000,
    lease_expires_ms: 10_000,
    alive: true,
    current_jobs: [],
    registered_ms: 0,
    ...extra,
  };
}

function view(queued: JobRecord[], workers: WorkerRecord[], clock_ms = 0): SchedulerView {
  const circuits = new Map([SMALL, BIG].map((c) => [c.id, c]));
  return { clock_ms, queued, workers, circuit: (id) => circuits.get(id) };
}

describe('planAssignments', () => {
  it('orders by priority, then earliest deadline (none last), then FIFO', () => {
    const low = job({ priority: -1 });
    const fifo1 = job();
    const fifo2 = job();
    const soon = job({ deadline_ms: 500 });
    const sooner = job({ deadline_ms: 400 });
    const high = job({ priority: 5 });
    const plan = planAssignments(view([low, fifo1, fifo2, soon, sooner, high], [worker('w', { slots: 10 })]), 0, 100);
    expect(plan.map((p) => p.jobId)).toEqual([high, sooner, soon, fifo1, fifo2, low].map((j) => j.id));
    expect(compareJobs(fifo1, fifo2)).toBeLessThan(0);
  });

  it('uses each free slot once, respects the limit, names the next attempt', () => {
    const jobs = [job(), job({ attempts: 2, worker_id: 'x' }), job(), job()];
    const workers = [worker('a', { slots: 2, current_jobs: ['job-x'] }), worker('b', { slots: 2 }), worker('dead', { alive: false, slots: 5 })];
    const plan = planAssignments(view(jobs, workers), 0, 100);
    expect(plan).toHaveLength(3);
    expect(plan.filter((p) => p.workerId === 'a')).toHaveLength(1);
    expect(plan.filter((p) => p.workerId === 'b')).toHaveLength(2);
    expect(plan.find((p) => p.jobId === jobs[1]!.id)?.attempt).toBe(3);
    expect(planAssignments(view(jobs, workers), 0, 1)).toHaveLength(1);
    expect(planAssignments(view(jobs, []), 0, 10)).toEqual([]);
  });

  it('prefers a worker with the circuit resident, then one that did not hold the last attempt, then more free slots', () => {
    const workers = [worker('a', { slots: 3 }), worker('b', { resident_circuits: [SMALL.id] }), worker('c', { slots: 2 })];
    expect(planAssignments(view([job()], workers), 0, 1)[0]?.workerId).toBe('b');
    expect(planAssignments(view([job()], [workers[0]!, workers[2]!]), 0, 1)[0]?.workerId).toBe('a');
    const retry = job({ attempts: 1, worker_id: 'a' });
    expect(planAssignments(view([retry], [workers[0]!, workers[2]!]), 0, 1)[0]?.workerId).toBe('c');
    // Only the worker that failed it is free: it still gets the retry.
    expect(planAssignments(view([retry], [workers[0]!]), 0, 1)[0]?.workerId).toBe('a');
  });

  it('matches memory and backends; a job no worker fits does not block the ones behind it', () => {
    const need = estimateProveMemory_bytes(BIG);
    const smallHost = worker('small-host', { memory_bytes: need - 1 });
    const bigHost = worker('big-host', { memory_bytes: need });
    const gpuOnly = worker('gpu', { backends: ['webgpu'], gpu: { name: 'H200', vendor: 'nvidia', backend: 'vulkan', memory_bytes: 8 << 30 } });
    const gpuSmall = worker('gpu-small', { backends: ['webgpu'], gpu: { name: 'iGPU', vendor: 'intel', backend: 'vulkan', memory_bytes: 1 << 20 } });
    const noBackend = worker('none', { backends: ['cuda-someday'] });
    expect(canProve(smallHost, BIG)).toBe(false);
    expect(canProve(bigHost, BIG)).toBe(true);
    expect(canProve(gpuOnly, BIG)).toBe(true);
    expect(canProve(gpuSmall, BIG)).toBe(false);
    expect(canProve(gpuSmall, SMALL)).toBe(true);
    expect(canProve(noBackend, SMALL)).toBe(false);
    const big = job({ circuit_id: BIG.id, priority: 9 });
    const small = job();
    const plan = planAssignments(view([big, small], [smallHost, noBackend]), 0, 10);
    expect(plan).toEqual([{ jobId: small.id, workerId: 'small-host', attempt: 1 }]);
    expect(planAssignments(view([big, small], [smallHost, bigHost]), 0, 10)).toEqual([
      { jobId: big.id, workerId: 'big-host', attempt: 1 },
      { jobId: small.id, workerId: 'small-host', attempt: 1 },
    ]);
  });

  it('skips jobs past their deadline and jobs of unknown circuits', () => {
    const expired = job({ deadline_ms: 100, priority: 3 });
    const orphan = job({ circuit_id: 'f'.repeat(64), priority: 2 });
    const ok = job();
    expect(planAssignments(view([expired, orphan, ok], [worker('w', { slots: 3 })], 50), 100, 10).map((p) => p.jobId)).toEqual([ok.id]);
  });

  it('is deterministic whatever the order of its inputs', () => {
    const jobs = Array.from({ length: 30 }, (_v, i) => job({ priority: i % 3, deadline_ms: i % 4 === 0 ? 1000 + i : 0 }));
    const workers = Array.from({ length: 6 }, (_v, i) => worker(`w${i}`, { slots: 1 + (i % 2), resident_circuits: i % 3 === 0 ? [SMALL.id] : [] }));
    const a = planAssignments(view(jobs, workers), 0, 100);
    const b = planAssignments(view([...jobs].reverse(), [...workers].reverse()), 0, 100);
    expect(b).toEqual(a);
    expect(a).toHaveLength(9);
  });

  it('plans from a live state machine, and every planned assignment is accepted', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('a', { slots: 2 });
    h.worker('b', { resident_circuits: [c] });
    const ids = [h.submit(c), h.submit(c, { priority: 1 }), h.submit(c), h.submit(c)];
    const plan = planAssignments(h.sm.schedulerView(), h.now_ms, 10);
    expect(plan.map((p) => p.jobId)).toEqual([ids[1], ids[0], ids[2]]);
    expect(plan[0]?.workerId).toBe('b');
    const outcomes = h.ok('assign', { assignments: plan }).outcomes;
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(planAssignments(h.sm.schedulerView(), h.now_ms, 10)).toEqual([]);
  });

  it('plans a long queue with few slots quickly (a heap, not a sort of everything per slot)', () => {
    const jobs = Array.from({ length: 20_000 }, (_v, i) => job({ priority: i % 7 }));
    const workers = [worker('w', { slots: 4 })];
    const plan = planAssignments(view(jobs, workers), 0, 100);
    expect(plan).toHaveLength(4);
    expect(plan.every((p) => jobs.find((j) => j.id === p.jobId)?.priority === 6)).toBe(true);
  });
});
