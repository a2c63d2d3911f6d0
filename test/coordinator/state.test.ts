import { describe, expect, it } from 'vitest';
import { decodeBatchResults, decodeCommand, decodeResult, encodeCommand, encodeCommandBatch, type JobCommand } from '../../src/coordinator/state/commands.ts';
import { JobStateMachine } from '../../src/coordinator/state/job-state-machine.ts';
import { toAssignmentMessage, toJobMessage } from '../../src/coordinator/state/messages.ts';
import { InvalidArgumentError } from '../../src/errors/index.ts';
import { circuitSpec, expectRefused, Harness, workerSpec } from './state-fixtures.ts';

describe('wire form', () => {
  it('round-trips every command type, a .wtns input as raw bytes', () => {
    const wtns = Uint8Array.from([1, 2, 3, 250]);
    const commands: JobCommand[] = [
      { type: 'register-circuit', now_ms: 1, circuit: circuitSpec('a') },
      {
        type: 'register-worker',
        now_ms: 2,
        worker: workerSpec('w', { gpu: { name: 'H200', vendor: 'nvidia', backend: 'vulkan', memory_bytes: 5 } }),
        lease_ms: 10,
      },
      { type: 'deregister-worker', now_ms: 3, workerId: 'w' },
      { type: 'submit', now_ms: 4, circuitId: 'c', input: { kind: 'wtns', wtns }, idempotencyKey: 'k', priority: -3, deadline_ms: 0, maxAttempts: 2 },
      { type: 'assign', now_ms: 5, assignments: [{ jobId: 'j', workerId: 'w', attempt: 1 }] },
      { type: 'schedule', now_ms: 5, limit: 4 },
      { type: 'running', now_ms: 6, jobId: 'j', attempt: 1, workerId: 'w' },
      { type: 'complete', now_ms: 7, jobId: 'j', attempt: 1, workerId: 'w', proofJson: '{}', publicJson: '[]', prove_ms: 3, backend: 'native' },
      { type: 'fail', now_ms: 8, jobId: 'j', attempt: 1, workerId: 'w', permanent: true, code: 'INVALID_ARGUMENT', message: 'x' },
      { type: 'cancel', now_ms: 9, jobId: 'j' },
      { type: 'renew-leases', now_ms: 10, renewals: [{ workerId: 'w', residentCircuits: ['c'] }, { workerId: 'v' }] },
      { type: 'tick', now_ms: 11 },
      { type: 'leader-start', now_ms: 12 },
      { type: 'archived', now_ms: 13, jobIds: ['j'] },
    ];
    for (const command of commands) expect(decodeCommand(encodeCommand(command))).toEqual(command);
    const bytes = encodeCommand(commands[3]!);
    expect(() => encodeCommand({ type: 'schedule', now_ms: 1, limit: -1 })).toThrow(/limit must be an integer >= 0/);
    // The witness is not base64'd into the JSON: it sits at the end as it is.
    expect([...bytes.subarray(bytes.length - 4)]).toEqual([1, 2, 3, 250]);
  });

  it('refuses malformed commands with a message naming the problem', () => {
    expect(() => encodeCommand({ type: 'submit', now_ms: -1 } as unknown as JobCommand)).toThrow(/now_ms must be an integer >= 0/);
    expect(() => encodeCommand({ type: 'cancel', now_ms: 1, jobId: '' })).toThrow(/jobId must not be empty/);
    expect(() => encodeCommand({ type: 'nope', now_ms: 1 } as unknown as JobCommand)).toThrow(/unknown command type/);
    expect(() => decodeCommand(Uint8Array.of(9))).toThrow(InvalidArgumentError);
    const sm = new JobStateMachine();
    const result = decodeResult(sm.apply({ index: 1, term: 1, type: 'normal', data: Uint8Array.of(1, 2, 0x7b, 0x7d, 0) }));
    expect(result).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
  });
});

describe('batch entries', () => {
  it('apply their commands in order exactly as one entry each would, each with its own result', () => {
    const setup: JobCommand[] = [
      { type: 'register-circuit', now_ms: 1, circuit: circuitSpec('mul') },
      { type: 'register-worker', now_ms: 2, worker: workerSpec('w'), lease_ms: 10_000 },
    ];
    const circuitId = circuitSpec('mul').id;
    const burst: JobCommand[] = [
      { type: 'submit', now_ms: 3, circuitId, input: { kind: 'json', json: '{"a":1}' }, idempotencyKey: 'k1', priority: 0, deadline_ms: 0, maxAttempts: 0 },
      {
        type: 'submit',
        now_ms: 3,
        circuitId,
        input: { kind: 'wtns', wtns: Uint8Array.of(7, 8) },
        idempotencyKey: '',
        priority: 5,
        deadline_ms: 0,
        maxAttempts: 0,
      },
      // The same idempotency key inside the same batch: the first job again.
      { type: 'submit', now_ms: 4, circuitId, input: { kind: 'json', json: '{"a":2}' }, idempotencyKey: 'k1', priority: 0, deadline_ms: 0, maxAttempts: 0 },
      {
        type: 'submit',
        now_ms: 4,
        circuitId: 'no-such-circuit',
        input: { kind: 'json', json: '{}' },
        idempotencyKey: '',
        priority: 0,
        deadline_ms: 0,
        maxAttempts: 0,
      },
      { type: 'tick', now_ms: 5 },
    ];
    const one = new JobStateMachine();
    const batched = new JobStateMachine();
    let index = 0;
    for (const command of setup) {
      index++;
      one.apply({ index, term: 1, type: 'normal', data: encodeCommand(command) });
      batched.apply({ index, term: 1, type: 'normal', data: encodeCommand(command) });
    }
    const singles = burst.map((command, i) => decodeResult(one.apply({ index: index + 1 + i, term: 1, type: 'normal', data: encodeCommand(command) })));
    const raw = batched.apply({ index: index + 1, term: 1, type: 'normal', data: encodeCommandBatch(burst.map(encodeCommand)) });
    const results = decodeBatchResults(raw, burst.length);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, true]);
    // Job ids come from the entry's index, so compare what they name rather than the ids themselves.
    expect(results[2]).toMatchObject({ ok: true, existing: true });
    expect((results[2] as { jobId: string }).jobId).toBe((results[0] as { jobId: string }).jobId);
    expect(singles.map((r) => r.ok)).toEqual(results.map((r) => r.ok));
    const shape = (sm: JobStateMachine) =>
      sm.listJobs({}, { pageSize: 100 }).jobs.map((j) => ({ state: j.state, priority: j.priority, input: j.input.kind, key: j.idempotency_key }));
    expect(shape(batched)).toEqual(shape(one));
    // Two jobs from one entry: distinct ids, seqs in the batch's order.
    const jobs = batched.listJobs({}, { pageSize: 100 }).jobs;
    expect(jobs).toHaveLength(2);
    expect(jobs[0]!.id).not.toBe(jobs[1]!.id);
    expect(jobs[1]!.seq).toBe(jobs[0]!.seq + 1);
  });

  it('a batch of submits ending in schedule assigns them by the same entry, as the scheduler would plan them', () => {
    const circuitId = circuitSpec('mul').id;
    const submit = (priority: number): JobCommand => ({
      type: 'submit',
      now_ms: 3,
      circuitId,
      input: { kind: 'json', json: '{"a":1}' },
      idempotencyKey: '',
      priority,
      deadline_ms: 0,
      maxAttempts: 0,
    });
    const sm = new JobStateMachine();
    const assigned: string[] = [];
    sm.onChange((change) => {
      if (change.kind === 'job-assigned') assigned.push(`${change.job.id}@${change.workerId}`);
    });
    sm.apply({ index: 1, term: 1, type: 'normal', data: encodeCommand({ type: 'register-circuit', now_ms: 1, circuit: circuitSpec('mul') }) });
    sm.apply({
      index: 2,
      term: 1,
      type: 'normal',
      data: encodeCommand({ type: 'register-worker', now_ms: 2, worker: workerSpec('w', { slots: 2 }), lease_ms: 10_000 }),
    });
    // Three jobs, two free slots: the two of highest priority go, in the scheduler's order.
    const burst = [submit(0), submit(5), submit(1), { type: 'schedule', now_ms: 3, limit: 256 } as JobCommand];
    const results = decodeBatchResults(sm.apply({ index: 3, term: 1, type: 'normal', data: encodeCommandBatch(burst.map(encodeCommand)) }), burst.length);
    sm.checkInvariants();
    const ids = results.slice(0, 3).map((r) => (r as { jobId: string }).jobId);
    expect(results[3]).toEqual({
      ok: true,
      outcomes: [
        { jobId: ids[1], workerId: 'w', attempt: 1, ok: true },
        { jobId: ids[2], workerId: 'w', attempt: 1, ok: true },
      ],
    });
    expect(assigned).toEqual([`${ids[1]}@w`, `${ids[2]}@w`]);
    expect(sm.job(ids[0]!)?.state).toBe('QUEUED');
    // No free slot left: schedule plans nothing and changes nothing.
    const again = decodeResult(sm.apply({ index: 4, term: 1, type: 'normal', data: encodeCommand({ type: 'schedule', now_ms: 4, limit: 256 }) }));
    expect(again).toEqual({ ok: true, outcomes: [] });
    expect(sm.job(ids[0]!)?.state).toBe('QUEUED');
  });

  it('refuse a malformed batch as a whole, naming the problem', () => {
    expect(() => encodeCommandBatch([encodeCommand({ type: 'tick', now_ms: 1 })])).toThrow(/2 to 1000 commands, not 1/);
    const sm = new JobStateMachine();
    const answer = sm.apply({ index: 1, term: 1, type: 'normal', data: Uint8Array.of(2, 3, 1, 0) });
    const results = decodeBatchResults(answer, 3);
    expect(results).toHaveLength(3);
    for (const r of results) expect(r).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
  });
});

describe('circuits and workers', () => {
  it('registers a circuit once; the same id again is existing; a taken name is refused', () => {
    const h = new Harness();
    const id = h.circuit('mul');
    expect(h.ok('register-circuit', { circuit: circuitSpec('mul') })).toEqual({ ok: true, circuitId: id, existing: true });
    expectRefused(h.run('register-circuit', { circuit: { ...circuitSpec('other'), name: 'mul' } }), 'FAILED_PRECONDITION', /taken/);
    expect(h.sm.circuit('mul')?.id).toBe(id);
    expect(h.sm.circuit(id)?.registered_ms).toBe(1000);
    expect(h.take().map((c) => c.kind)).toEqual(['circuit-registered']);
  });

  it('bounds workers; a dead worker makes room', () => {
    const h = new Harness({ workersMax: 2 });
    h.worker('a', {}, 100);
    h.worker('b', {}, 10_000);
    expectRefused(h.run('register-worker', { worker: workerSpec('c'), lease_ms: 100 }), 'RESOURCE_EXHAUSTED', /worker limit/);
    h.advance(200);
    expect(h.ok('tick', {}).deadWorkerIds).toEqual(['a']);
    h.worker('c');
    expect(h.sm.workers().map((w) => w.id)).toEqual(['b', 'c']);
  });

  it('deregisters; an unknown worker is NOT_FOUND', () => {
    const h = new Harness();
    h.worker('a');
    h.ok('deregister-worker', { workerId: 'a' });
    expectRefused(h.run('deregister-worker', { workerId: 'a' }), 'NOT_FOUND');
  });
});

describe('job life', () => {
  it('QUEUED -> ASSIGNED -> RUNNING -> SUCCEEDED with the changes the service pushes', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    h.take();
    const job = h.submit(c, { priority: 2 });
    expect(job).toBe(`job-${h.index}`);
    expect(h.sm.job(job)).toMatchObject({ state: 'QUEUED', attempts: 0, max_attempts: 3, submitted_ms: 1000 });
    h.advance(10);
    expect(h.assign(job, 'w')).toEqual({ jobId: job, workerId: 'w', attempt: 1, ok: true });
    expect(h.sm.worker('w')?.current_jobs).toEqual([job]);
    h.advance(10);
    expect(h.ok('running', { jobId: job, attempt: 1, workerId: 'w' }).accepted).toBe(true);
    h.advance(10);
    expect(h.complete(job, 'w', 1)).toEqual({ ok: true, accepted: true, reason: '' });
    const done = h.sm.job(job)!;
    expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 1, worker_id: 'w', assigned_ms: 1010, started_ms: 1020, finished_ms: 1030, prove_ms: 12 });
    expect(h.sm.worker('w')?.current_jobs).toEqual([]);
    const changes = h.take();
    expect(changes.map((c) => c.kind)).toEqual(['job-submitted', 'job-assigned', 'job-running', 'job-finished']);
    expect(changes[1]).toMatchObject({ workerId: 'w', attempt: 1 });
    expect(changes[3]).toMatchObject({ revokedFrom: null, job: { state: 'SUCCEEDED' } });
    expect(h.sm.finishedUnarchived(10).map((j) => j.id)).toEqual([job]);
    expect(toJobMessage(done)).toMatchObject({
      id: job,
      state: 'SUCCEEDED',
      proof_json: '{"pi_a":[]}',
      public_json: '["33"]',
      archived: false,
      progress: null,
    });
  });

  it('refuses assignments that are not valid any more, each with its reason', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    h.worker('busy');
    const j1 = h.submit(c);
    const j2 = h.submit(c);
    h.assign(j2, 'busy');
    const outcomes = h.ok('assign', {
      assignments: [
        { jobId: 'job-999', workerId: 'w', attempt: 1 },
        { jobId: j1, workerId: 'w', attempt: 2 },
        { jobId: j1, workerId: 'nobody', attempt: 1 },
        { jobId: j1, workerId: 'busy', attempt: 1 },
        { jobId: j1, workerId: 'w', attempt: 1 },
        { jobId: j1, workerId: 'w', attempt: 1 },
      ],
    }).outcomes;
    expect(outcomes.map((o) => o.reason ?? 'ok')).toEqual([
      'unknown job',
      'attempt 2 is not the next attempt 1',
      'unknown worker',
      'worker has no free slot (1 in use)',
      'ok',
      'job is ASSIGNED',
    ]);
  });

  it('ignores late, duplicate and foreign reports, answering why', () => {
    const h = new Harness({ defaultMaxAttempts: 5 });
    const c = h.circuit();
    h.worker('a');
    h.worker('b');
    const job = h.submit(c);
    expect(h.complete(job, 'a', 1)).toMatchObject({ accepted: false, reason: expect.stringMatching(/queued/) });
    h.assign(job, 'a');
    expect(h.complete(job, 'b', 1)).toMatchObject({ accepted: false, reason: 'job is held by worker a, not b' });
    expect(h.complete(job, 'a', 2)).toMatchObject({ accepted: false, reason: 'attempt 2 is not the current attempt 1' });
    h.failJob(job, 'a', 1); // transient: requeued
    expect(h.sm.job(job)?.state).toBe('QUEUED');
    h.assign(job, 'b');
    expect(h.complete(job, 'a', 1)).toMatchObject({ accepted: false, reason: 'attempt 1 is not the current attempt 2' });
    expect(h.ok('running', { jobId: job, attempt: 2, workerId: 'b' }).accepted).toBe(true);
    expect(h.ok('running', { jobId: job, attempt: 2, workerId: 'b' })).toMatchObject({ accepted: false, reason: 'already running' });
    expect(h.complete(job, 'b', 2, 'first').accepted).toBe(true);
    expect(h.complete(job, 'b', 2, 'second')).toMatchObject({ accepted: false, reason: 'job is already SUCCEEDED' });
    expect(h.failJob(job, 'b', 2, true)).toMatchObject({ accepted: false });
    expect(h.sm.job(job)?.proof_json).toBe('first');
    h.ok('archived', { jobIds: [job] });
    expect(h.complete(job, 'b', 2)).toMatchObject({ accepted: false, reason: expect.stringMatching(/unknown job/) });
  });

  it('a transient failure retries up to max attempts, then FAILED with the last error', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    const job = h.submit(c, { maxAttempts: 2 });
    h.assign(job, 'w');
    h.failJob(job, 'w', 1);
    expect(h.sm.job(job)).toMatchObject({ state: 'QUEUED', attempts: 1 });
    h.assign(job, 'w');
    h.take();
    h.failJob(job, 'w', 2);
    expect(h.sm.job(job)).toMatchObject({ state: 'FAILED', attempts: 2, error_code: 'DEVICE_LOST', error_message: 'boom; no attempts left (2 of 2)' });
    expect(h.take()).toMatchObject([{ kind: 'job-finished', revokedFrom: null }]);
    expect(h.ok('assign', { assignments: [{ jobId: job, workerId: 'w', attempt: 3 }] }).outcomes[0]?.ok).toBe(false);
  });

  it('a permanent failure fails at once, never retried', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    const job = h.submit(c, { maxAttempts: 5 });
    h.assign(job, 'w');
    h.failJob(job, 'w', 1, true);
    expect(h.sm.job(job)).toMatchObject({ state: 'FAILED', attempts: 1, error_code: 'INVALID_ARGUMENT', error_message: 'boom' });
    expect(h.sm.counts()).toMatchObject({ active: 0, finishedUnarchived: 1 });
  });

  it('lease expiry: the worker is dead, its jobs requeued (attempt counted) and, at max attempts, FAILED', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w', { slots: 2 }, 100);
    const a = h.submit(c, { maxAttempts: 1 });
    const b = h.submit(c, { maxAttempts: 2 });
    h.assign(a, 'w');
    h.assign(b, 'w');
    h.take();
    h.advance(99);
    expect(h.ok('tick', {}).deadWorkerIds).toEqual([]);
    h.advance(1);
    expect(h.ok('tick', {})).toEqual({ ok: true, deadWorkerIds: ['w'], requeuedJobIds: [b], failedJobIds: [a], expiredJobIds: [] });
    expect(h.sm.job(a)).toMatchObject({
      state: 'FAILED',
      error_code: 'UNAVAILABLE',
      error_message: expect.stringMatching(/worker w lost .* no attempts left \(1 of 1\)/),
    });
    expect(h.sm.job(b)).toMatchObject({ state: 'QUEUED', attempts: 1 });
    expect(h.sm.worker('w')).toMatchObject({ alive: false, current_jobs: [] });
    const kinds = h.take().map((c) => [c.kind, 'revokedFrom' in c ? c.revokedFrom : undefined]);
    expect(kinds).toEqual([
      ['job-finished', { workerId: 'w', attempt: 1 }],
      ['job-requeued', { workerId: 'w', attempt: 1 }],
      ['worker-dead', undefined],
    ]);
    // A dead worker is not assigned to, and its late reports are ignored.
    expect(h.assign(b, 'w')).toMatchObject({ ok: false, reason: 'worker is dead (lease expired)' });
    expect(h.complete(b, 'w', 1).accepted).toBe(false);
    // It heartbeats again: alive, with no jobs.
    expect(h.ok('renew-leases', { renewals: [{ workerId: 'w' }, { workerId: 'ghost' }] })).toEqual({
      ok: true,
      unknownWorkerIds: ['ghost'],
      revivedWorkerIds: ['w'],
    });
    expect(h.assign(b, 'w')).toMatchObject({ ok: true, attempt: 2 });
  });

  it('renew-leases renews many workers in one command and updates resident circuits', () => {
    const h = new Harness();
    h.worker('a', {}, 100);
    h.worker('b', {}, 100);
    h.advance(90);
    h.ok('renew-leases', {
      renewals: [
        { workerId: 'a', residentCircuits: ['z', 'y', 'z'] },
        { workerId: 'b', residentCircuits: null },
      ],
    });
    h.advance(90);
    expect(h.ok('tick', {}).deadWorkerIds).toEqual([]);
    expect(h.sm.worker('a')).toMatchObject({ lease_expires_ms: 1190, resident_circuits: ['y', 'z'] });
    expect(h.sm.worker('b')?.resident_circuits).toEqual([]);
  });

  it('leader-start restarts every live lease from now', () => {
    const h = new Harness();
    h.worker('a', {}, 100);
    h.advance(99);
    h.ok('leader-start', {});
    h.advance(99);
    expect(h.ok('tick', {}).deadWorkerIds).toEqual([]);
    h.advance(1);
    expect(h.ok('tick', {}).deadWorkerIds).toEqual(['a']);
  });

  it('deregistering a worker requeues its jobs with the attempt counted', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    const job = h.submit(c);
    h.assign(job, 'w');
    expect(h.ok('deregister-worker', { workerId: 'w' })).toEqual({ ok: true, requeuedJobIds: [job], failedJobIds: [] });
    expect(h.sm.job(job)).toMatchObject({ state: 'QUEUED', attempts: 1, worker_id: 'w' });
    expect(h.sm.worker('w')).toBeUndefined();
  });

  it('a worker registering again keeps the jobs it names and gives back the rest', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w', { slots: 2 });
    const a = h.submit(c);
    const b = h.submit(c);
    h.assign(a, 'w');
    h.assign(b, 'w');
    const result = h.ok('register-worker', { worker: workerSpec('w', { slots: 2 }), lease_ms: 5000, keepJobIds: [b] });
    expect(result).toMatchObject({ requeuedJobIds: [a], failedJobIds: [] });
    expect(h.sm.worker('w')?.current_jobs).toEqual([b]);
    expect(h.sm.job(b)?.state).toBe('ASSIGNED');
  });

  it('cancel: queued and leased jobs are CANCELLED (the holder named); a finished one is FAILED_PRECONDITION', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    const queued = h.submit(c);
    const leased = h.submit(c);
    h.assign(leased, 'w');
    h.take();
    expect(h.ok('cancel', { jobId: queued })).toEqual({ ok: true, jobId: queued, revokedFromWorkerId: '' });
    expect(h.ok('cancel', { jobId: leased, reason: 'user pressed ^C' })).toEqual({ ok: true, jobId: leased, revokedFromWorkerId: 'w' });
    expect(h.sm.job(leased)).toMatchObject({ state: 'CANCELLED', error_code: 'CANCELLED', error_message: 'user pressed ^C' });
    expect(h.sm.worker('w')?.current_jobs).toEqual([]);
    expect(h.take().map((c) => (c.kind === 'job-finished' ? c.revokedFrom : null))).toEqual([null, { workerId: 'w', attempt: 1 }]);
    expectRefused(h.run('cancel', { jobId: leased }), 'FAILED_PRECONDITION', /already CANCELLED/);
    expectRefused(h.run('cancel', { jobId: 'job-12345' }), 'NOT_FOUND');
    expect(h.complete(leased, 'w', 1).accepted).toBe(false);
  });

  it('deadlines: a job past its deadline is EXPIRED (tick, or at its next report), never proven', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w', { slots: 2 });
    const queued = h.submit(c, { deadline_ms: 1100 });
    const leased = h.submit(c, { deadline_ms: 1100 });
    const late = h.submit(c, { deadline_ms: 1200 });
    h.assign(leased, 'w');
    h.assign(late, 'w');
    h.take();
    h.advance(100);
    expect(h.ok('tick', {}).expiredJobIds).toEqual([queued, leased]);
    expect(h.sm.job(leased)).toMatchObject({ state: 'EXPIRED', error_code: 'DEADLINE_EXCEEDED' });
    expect(h.take().map((c) => (c.kind === 'job-finished' ? c.revokedFrom : c.kind))).toEqual([null, { workerId: 'w', attempt: 1 }]);
    h.advance(100);
    // No tick yet: the completion itself finds the deadline passed.
    expect(h.complete(late, 'w', 1)).toMatchObject({ accepted: false, reason: 'job is already EXPIRED' });
    expect(h.sm.job(late)?.proof_json).toBe('');
    expectRefused(
      h.run('submit', { circuitId: c, input: { kind: 'json', json: '{}' }, idempotencyKey: '', priority: 0, deadline_ms: 1200, maxAttempts: 0 }),
      'DEADLINE_EXCEEDED',
    );
  });

  it('the clock never goes back (a new leader with a slower clock)', () => {
    const h = new Harness();
    h.now_ms = 5000;
    h.ok('tick', {});
    h.now_ms = 4000;
    const c = h.circuit();
    expect(h.sm.circuit(c)?.registered_ms).toBe(5000);
    expect(h.sm.clock).toBe(5000);
  });
});

describe('submit: idempotency and bounds', () => {
  it('the same idempotency key returns the first job, even after it was archived', () => {
    const h = new Harness();
    const c = h.circuit();
    const job = h.submit(c, { idempotencyKey: 'k1' });
    expect(h.ok('submit', { circuitId: c, input: { kind: 'json', json: '{}' }, idempotencyKey: 'k1', priority: 9, deadline_ms: 0, maxAttempts: 0 })).toEqual({
      ok: true,
      jobId: job,
      existing: true,
    });
    h.ok('cancel', { jobId: job });
    h.ok('archived', { jobIds: [job] });
    expect(h.sm.job(job)).toBeUndefined();
    expect(h.sm.jobIdForIdempotencyKey('k1')).toBe(job);
    expect(h.submit(c, { idempotencyKey: 'k1' })).toBe(job);
    const other = h.circuit('other');
    const j2 = h.submit(c, { idempotencyKey: 'k2' });
    expectRefused(
      h.run('submit', { circuitId: other, input: { kind: 'json', json: '{}' }, idempotencyKey: 'k2', priority: 0, deadline_ms: 0, maxAttempts: 0 }),
      'MISMATCH',
      new RegExp(j2),
    );
  });

  it('the idempotency index is bounded, least recently used forgotten first; a forgotten key makes a new job', () => {
    const h = new Harness({ idempotencyKeysMax: 2 });
    const c = h.circuit();
    const a = h.submit(c, { idempotencyKey: 'a' });
    h.submit(c, { idempotencyKey: 'b' });
    expect(h.submit(c, { idempotencyKey: 'a' })).toBe(a); // a is now the most recent
    h.submit(c, { idempotencyKey: 'c' }); // forgets b
    expect(h.sm.jobIdForIdempotencyKey('b')).toBeUndefined();
    expect(h.sm.jobIdForIdempotencyKey('a')).toBe(a);
    expect(h.sm.counts().idempotencyKeys).toBe(2);
  });

  it('a full queue answers RESOURCE_EXHAUSTED with a retry hint; an idempotent retry still gets its job', () => {
    const h = new Harness({ queueMax: 2, queueFullRetryAfter_ms: 750 });
    const c = h.circuit();
    const a = h.submit(c, { idempotencyKey: 'a' });
    h.submit(c);
    const refused = h.run('submit', { circuitId: c, input: { kind: 'json', json: '{}' }, idempotencyKey: 'x', priority: 0, deadline_ms: 0, maxAttempts: 0 });
    expectRefused(refused, 'RESOURCE_EXHAUSTED', /queue full \(2 jobs/);
    expect(refused).toMatchObject({ retryAfter_ms: 750 });
    expect(h.sm.jobIdForIdempotencyKey('x')).toBeUndefined();
    expect(h.submit(c, { idempotencyKey: 'a' })).toBe(a);
    h.ok('cancel', { jobId: a });
    h.submit(c);
  });

  it('while the archive is behind, submits are refused; finished jobs still finish; archived frees room', () => {
    const h = new Harness({ finishedMax: 1, queueMax: 10 });
    const c = h.circuit();
    h.worker('w');
    const a = h.submit(c);
    const b = h.submit(c);
    h.ok('cancel', { jobId: a });
    expectRefused(
      h.run('submit', { circuitId: c, input: { kind: 'json', json: '{}' }, idempotencyKey: '', priority: 0, deadline_ms: 0, maxAttempts: 0 }),
      'RESOURCE_EXHAUSTED',
      /archive behind/,
    );
    h.assign(b, 'w');
    h.complete(b, 'w', 1);
    expect(h.sm.counts().finishedUnarchived).toBe(2);
    expect(h.ok('archived', { jobIds: [a, b, 'job-77', a] })).toEqual({ ok: true, removed: 2 });
    expect(h.take().filter((x) => x.kind === 'job-archived')).toHaveLength(2);
    h.submit(c);
  });

  it('refuses an unknown circuit, an oversize input, too many attempts', () => {
    const h = new Harness({ inlineInputBytesMax: 10, maxAttemptsLimit: 4 });
    const c = h.circuit();
    const base = { circuitId: c, idempotencyKey: '', priority: 0, deadline_ms: 0, maxAttempts: 0 };
    expectRefused(h.run('submit', { ...base, circuitId: 'f'.repeat(64), input: { kind: 'json', json: '{}' } }), 'NOT_FOUND', /not registered/);
    expectRefused(h.run('submit', { ...base, input: { kind: 'json', json: '{"a":"0123456789"}' } }), 'RESOURCE_EXHAUSTED', /inline input of 18 bytes/);
    expectRefused(h.run('submit', { ...base, maxAttempts: 5, input: { kind: 'json', json: '{}' } }), 'INVALID_ARGUMENT', /exceeds the limit 4/);
    expect(h.run('submit', { ...base, input: { kind: 'stored', sha256: 'a'.repeat(64), is_wtns: true } }).ok).toBe(true);
  });
});

describe('queries', () => {
  it('lists jobs by circuit and state, a page at a time', () => {
    const h = new Harness();
    const c = h.circuit('c');
    const d = h.circuit('d');
    const ids = [h.submit(c), h.submit(d), h.submit(c), h.submit(c)];
    h.ok('cancel', { jobId: ids[2]! });
    const page1 = h.sm.listJobs({ circuitId: c }, { pageSize: 2 });
    expect(page1.jobs.map((j) => j.id)).toEqual([ids[0], ids[2]]);
    const page2 = h.sm.listJobs({ circuitId: c }, { pageSize: 2, pageToken: page1.nextPageToken });
    expect(page2).toEqual({ jobs: [h.sm.job(ids[3]!)], nextPageToken: '' });
    expect(h.sm.listJobs({ states: ['CANCELLED'] }, { pageSize: 10 }).jobs.map((j) => j.id)).toEqual([ids[2]]);
    expect(() => h.sm.listJobs({}, { pageSize: 0 })).toThrow(/page size/);
    expect(() => h.sm.listJobs({}, { pageSize: 5, pageToken: 'abc' })).toThrow(/page token/);
    expect(h.sm.counts()).toMatchObject({ queued: 3, active: 3, finishedUnarchived: 1, circuits: 2 });
  });

  it('maps a leased job to the assignment a worker receives', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    const job = h.submit(c, { input: { kind: 'wtns', wtns: Uint8Array.of(7, 8) }, deadline_ms: 9999 });
    h.assign(job, 'w');
    const message = toAssignmentMessage(h.sm.job(job)!, h.sm.circuit(c)!, 5000);
    expect(message).toMatchObject({ job_id: job, attempt: 1, input: 'witness_wtns', input_is_wtns: true, deadline_ms: 9999, lease_ms: 5000 });
    expect([...(message.witness_wtns ?? [])]).toEqual([7, 8]);
  });
});

describe('invariants', () => {
  it('a listener that throws is a bug: the state is complete and the error surfaces', () => {
    const h = new Harness();
    h.sm.onChange(() => {
      throw new Error('listener bug');
    });
    expect(() => h.circuit()).toThrow(/listener bug/);
    expect(h.sm.circuits()).toHaveLength(1);
    expect(h.changes).toHaveLength(1); // the other listener still heard it
  });

  it('a listener may not apply a command from inside apply', () => {
    const h = new Harness();
    h.sm.onChange(() => {
      h.sm.applyCommand({ type: 'tick', now_ms: 1 }, 999);
    });
    expect(() => h.circuit()).toThrow(/re-entered/);
    // The machine is not left stuck: the next command applies (its listener fails again, as it should).
    expect(() => h.worker('w')).toThrow(/re-entered/);
    expect(h.sm.worker('w')?.alive).toBe(true);
  });

  it('a corrupt snapshot is refused, naming what is wrong', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    h.assign(h.submit(c), 'w');
    const text = new TextDecoder().decode(h.sm.snapshot());
    // A worker that no longer lists the job it holds: two views of the lease disagree.
    const broken = text.replace(/\["job-\d+"\]/, '[]');
    expect(broken).not.toBe(text);
    expect(() => new JobStateMachine().restore(new TextEncoder().encode(broken))).toThrow(/inconsistent state: .*held by no worker/);
    expect(() => new JobStateMachine().restore(new TextEncoder().encode('nope'))).toThrow(/ZKJOBS01/);
  });

  it('checkInvariants catches two live leases on one job', () => {
    const h = new Harness();
    const c = h.circuit();
    h.worker('w');
    h.assign(h.submit(c), 'w');
    // Forge a second worker holding the same job, through the snapshot's text.
    const text = new TextDecoder().decode(h.sm.snapshot());
    const forged = text.replace(/"workers":\[(\[.*?\])\]/, (_m, w: string) => `"workers":[${w},${w.replace('"w"', '"w2"')}]`);
    expect(forged).not.toBe(text);
    expect(() => new JobStateMachine().restore(new TextEncoder().encode(forged))).toThrow(/two live leases/);
  });
});
