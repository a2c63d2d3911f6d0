/**
 * Random command sequences against a live job state machine and against
 * copies restored from its snapshots: results, changes and snapshot bytes
 * must be identical, and every invariant must hold after every command.
 * The seed comes from ZKP_TEST_SEED (or is drawn) and is logged.
 */
import { describe, expect, it } from 'vitest';
import type { JobChange } from '../../src/coordinator/state/changes.ts';
import { encodeCommand, type JobCommand } from '../../src/coordinator/state/commands.ts';
import { JobStateMachine, type JobStateMachineOptions } from '../../src/coordinator/state/job-state-machine.ts';
import { isTerminalState } from '../../src/coordinator/state/records.ts';
import { planAssignments } from '../../src/coordinator/scheduler/plan.ts';
import { type SeededRandom, testRandom } from '../helpers/random.ts';
import { circuitSpec, workerSpec } from './state-fixtures.ts';

const OPTIONS: JobStateMachineOptions = { queueMax: 12, finishedMax: 8, workersMax: 4, idempotencyKeysMax: 6, defaultMaxAttempts: 2 };
const WORKERS = ['w1', 'w2', 'w3', 'w4', 'w5'];
const CIRCUITS = [circuitSpec('small', 1000), circuitSpec('big', 1 << 30), circuitSpec('mid', 1 << 20)];

function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** A plausible next command: mostly valid, often stale or duplicate, sometimes nonsense. */
function randomCommand(rng: SeededRandom, sm: JobStateMachine, now_ms: number): JobCommand {
  const jobs = sm.listJobs({}, { pageSize: 1000 }).jobs;
  const anyJobId = (): string => (jobs.length > 0 && rng.int(10) > 0 ? pick(rng, jobs).id : `job-${rng.int(400)}`);
  const roll = rng.int(100);
  if (roll < 4) return { type: 'register-circuit', now_ms, circuit: pick(rng, CIRCUITS) };
  if (roll < 10) {
    const held = sm.worker(pick(rng, WORKERS))?.current_jobs ?? [];
    return {
      type: 'register-worker',
      now_ms,
      worker: workerSpec(pick(rng, WORKERS), {
        slots: 1 + rng.int(3),
        memory_bytes: pick(rng, [0, 2 ** 20, 2 ** 32]),
        resident_circuits: rng.int(2) === 0 ? [CIRCUITS[0]!.id] : [],
      }),
      lease_ms: 50 + rng.int(200),
      keepJobIds: held.filter(() => rng.int(2) === 0),
    };
  }
  if (roll < 12) return { type: 'deregister-worker', now_ms, workerId: pick(rng, WORKERS) };
  if (roll < 32) {
    const input = rng.int(4) === 0 ? { kind: 'wtns' as const, wtns: Uint8Array.of(rng.int(256), 1) } : { kind: 'json' as const, json: `{"a":${rng.int(9)}}` };
    return {
      type: 'submit',
      now_ms,
      circuitId: pick(rng, CIRCUITS).id,
      input,
      idempotencyKey: rng.int(3) === 0 ? `k${rng.int(10)}` : '',
      priority: rng.int(3) - 1,
      deadline_ms: rng.int(3) === 0 ? now_ms + rng.int(500) : 0,
      maxAttempts: rng.int(4),
    };
  }
  if (roll < 44) {
    if (rng.int(5) === 0) return { type: 'schedule', now_ms, limit: rng.int(5) };
    const plan = planAssignments(sm.schedulerView(), now_ms, 1 + rng.int(4));
    if (rng.int(4) === 0 || plan.length === 0) {
      return { type: 'assign', now_ms, assignments: [{ jobId: anyJobId(), workerId: pick(rng, WORKERS), attempt: 1 + rng.int(3) }] };
    }
    return { type: 'assign', now_ms, assignments: plan };
  }
  // Reports: about a held job (its current or an older attempt), or anything.
  const leased = jobs.filter((j) => j.state === 'ASSIGNED' || j.state === 'RUNNING');
  const target = leased.length > 0 && rng.int(4) > 0 ? pick(rng, leased) : jobs.length > 0 ? pick(rng, jobs) : undefined;
  const jobId = target?.id ?? anyJobId();
  const attempt = Math.max(1, (target?.attempts ?? 1) - (rng.int(4) === 0 ? 1 : 0));
  const workerId = target !== undefined && rng.int(5) > 0 && target.worker_id !== '' ? target.worker_id : pick(rng, WORKERS);
  if (roll < 52) return { type: 'running', now_ms, jobId, attempt, workerId };
  if (roll < 62)
    return {
      type: 'complete',
      now_ms,
      jobId,
      attempt,
      workerId,
      proofJson: `{"p":${rng.int(1000)}}`,
      publicJson: '[]',
      prove_ms: rng.int(50),
      backend: 'native',
    };
  if (roll < 68) return { type: 'fail', now_ms, jobId, attempt, workerId, permanent: rng.int(3) === 0, code: 'DEVICE_LOST', message: 'lost' };
  if (roll < 72) return { type: 'cancel', now_ms, jobId: anyJobId() };
  if (roll < 82)
    return {
      type: 'renew-leases',
      now_ms,
      renewals: WORKERS.filter(() => rng.int(2) === 0).map((workerId) => ({ workerId, residentCircuits: rng.int(2) === 0 ? null : [CIRCUITS[1]!.id] })),
    };
  if (roll < 92) return { type: 'tick', now_ms };
  if (roll < 94) return { type: 'leader-start', now_ms };
  const finished = sm.finishedUnarchived(1 + rng.int(5)).map((j) => j.id);
  return { type: 'archived', now_ms, jobIds: rng.int(5) === 0 ? [...finished, anyJobId()] : finished };
}

function machine(): { sm: JobStateMachine; heard: string[] } {
  const sm = new JobStateMachine(OPTIONS);
  const heard: string[] = [];
  sm.onChange((change: JobChange) => heard.push(JSON.stringify(change, (_k, v) => (v instanceof Uint8Array ? [...v] : v))));
  return { sm, heard };
}

describe('job state machine under random commands', () => {
  it('live and snapshot-restored machines agree on results, changes and bytes; invariants always hold', () => {
    const rng = testRandom('coordinator state random');
    const steps = 4000;
    const live = machine();
    let copy = machine();
    copy.sm.restore(live.sm.snapshot());
    let now_ms = 1000;
    const terminalSeen = new Map<string, string>();
    const attemptsSeen = new Map<string, number>();
    const counts: Record<string, number> = {};
    for (let index = 1; index <= steps; index++) {
      // The clock mostly moves forward, sometimes back (a leader whose clock is behind).
      now_ms += rng.int(40) - 5;
      const command = randomCommand(rng, live.sm, Math.max(0, now_ms));
      const entry = { index, term: 1, type: 'normal' as const, data: encodeCommand(command) };
      const a = live.sm.apply(entry);
      const b = copy.sm.apply(entry);
      expect(Buffer.from(b).toString(), `result of ${command.type} at ${index}`).toBe(Buffer.from(a).toString());
      const result = JSON.parse(Buffer.from(a).toString()) as { ok: boolean; accepted?: boolean };
      counts[`${command.type}:${result.ok ? (result.accepted === false ? 'ignored' : 'ok') : 'refused'}`] =
        (counts[`${command.type}:${result.ok ? (result.accepted === false ? 'ignored' : 'ok') : 'refused'}`] ?? 0) + 1;
      live.sm.checkInvariants();
      for (const job of live.sm.listJobs({}, { pageSize: 1000 }).jobs) {
        // Attempts never decrease; terminal is final.
        expect(job.attempts).toBeGreaterThanOrEqual(attemptsSeen.get(job.id) ?? 0);
        attemptsSeen.set(job.id, job.attempts);
        const terminal = terminalSeen.get(job.id);
        if (terminal !== undefined) expect(job.state).toBe(terminal);
        if (isTerminalState(job.state)) terminalSeen.set(job.id, job.state);
      }
      if (rng.int(200) === 0 || index === steps) {
        const snap = live.sm.snapshot();
        expect(Buffer.from(copy.sm.snapshot()).equals(Buffer.from(snap)), `snapshot bytes at ${index}`).toBe(true);
        expect(copy.heard).toEqual(live.heard);
        // Restore into a fresh machine and carry on with that one; its own snapshot is the same bytes.
        copy = machine();
        copy.sm.restore(snap);
        expect(Buffer.from(copy.sm.snapshot()).equals(Buffer.from(snap))).toBe(true);
        live.heard.length = 0;
      }
    }
    console.log('[coordinator state random] outcomes', JSON.stringify(counts));
    // The generator reaches every interesting path (or the test proves little).
    for (const key of [
      'submit:ok',
      'submit:refused',
      'assign:ok',
      'complete:ok',
      'complete:ignored',
      'fail:ok',
      'tick:ok',
      'cancel:ok',
      'cancel:refused',
      'archived:ok',
      'running:ok',
    ]) {
      expect(counts[key] ?? 0, key).toBeGreaterThan(0);
    }
  });

  it('restoring the empty bootstrap snapshot gives an empty state', () => {
    const { sm } = machine();
    sm.restore(new Uint8Array(0));
    expect(sm.counts()).toMatchObject({ active: 0, workers: 0, circuits: 0 });
    expect(new TextDecoder().decode(sm.snapshot())).toMatch(/^ZKJOBS01/);
  });
});
