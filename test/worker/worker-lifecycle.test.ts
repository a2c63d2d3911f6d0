/**
 * The worker's life around its jobs, against scripted coordinators (real
 * gRPC servers on loopback): cancel by instruction and by heartbeat answer,
 * drain (the job finishes within the grace period; or it is handed back), the
 * leader redirect at registration, failover of the Assignments stream to a
 * new leader, a stream left on a deposed leader, a dead coordinator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningWorker, type WorkerOptions, startWorker } from '../../src/worker/main.ts';
import { randomInput } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { FAST_ROUTER, assignmentFor, serveCircuit, testLogger } from './helpers.ts';

const rng = testRandom('worker-lifecycle');

describe('worker lifecycle', () => {
  const cleanups: (() => Promise<void>)[] = [];
  let cacheDir = '';

  beforeEach(async () => {
    // A fresh cache per test: the first job of each fetches its circuit (held by holdFetches() where a test needs a long stage).
    cacheDir = await mkdtemp(join(tmpdir(), 'zkp-worker-life-'));
    const dir = cacheDir;
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function coordinator(id: string): Promise<FakeCoordinator> {
    const fake = new FakeCoordinator({ id, lease_ms: 600 });
    await fake.start();
    cleanups.push(() => fake.close());
    return fake;
  }

  async function worker(coordinators: FakeCoordinator[], extra: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
    const running = await startWorker({
      coordinators: coordinators.map((fake) => fake.address),
      backends: ['native'],
      cacheDir,
      logger: testLogger(),
      router: FAST_ROUTER,
      ...extra,
    });
    cleanups.push(() => running.close());
    return running;
  }

  const mulchainInput = () => ({ json: JSON.stringify(randomInput('mulchain', rng)) });
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('cancels a job on a cancel instruction: it stops at the next stage boundary and reports nothing', async () => {
    const fake = await coordinator('c1');
    const { circuit } = await serveCircuit(fake, 'mulchain');
    const running = await worker([fake], { id: 'w-cancel' });
    await fake.waitFor('the stream', () => fake.streams.has('w-cancel'));
    const release = fake.holdFetches();
    fake.assign('w-cancel', assignmentFor(circuit, 'job-c1', mulchainInput()));
    await fake.waitFor('the fetch stage reported', () => fake.progress.some((report) => report.job_id === 'job-c1'));
    expect(running.runningJobs()).toEqual(['job-c1']);
    fake.cancel('w-cancel', 'job-c1');
    await settle(200);
    // Still inside the fetch: the abort lands when that stage ends.
    expect(running.runningJobs()).toEqual(['job-c1']);
    release();
    const until = performance.now() + 5_000;
    while (running.runningJobs().length > 0 && performance.now() < until) await settle(20);
    expect(running.runningJobs()).toEqual([]);
    await settle(300);
    expect(fake.completes.filter((c) => c.job_id === 'job-c1')).toEqual([]);
    expect(fake.fails.filter((f) => f.job_id === 'job-c1')).toEqual([]);
    expect(running.stats().cancelled).toBe(1);

    // The fetch finished: the circuit is resident and the next job proves without fetching.
    const fetches = fake.fetches.length;
    fake.assign('w-cancel', assignmentFor(circuit, 'job-c2', mulchainInput()));
    await fake.waitFor('job-c2 done', () => fake.completes.some((c) => c.job_id === 'job-c2'));
    expect(fake.fetches.length).toBe(fetches);
  });

  it('cancels a job named in a heartbeat answer', async () => {
    const fake = await coordinator('c1');
    const { circuit } = await serveCircuit(fake, 'mulchain');
    const running = await worker([fake], { id: 'w-hb-cancel' });
    await fake.waitFor('the stream', () => fake.streams.has('w-hb-cancel'));
    const release = fake.holdFetches();
    cleanups.push(async () => release());
    fake.assign('w-hb-cancel', assignmentFor(circuit, 'job-h1', mulchainInput()));
    await fake.waitFor('the job in a heartbeat', () => fake.heartbeats.some((beat) => beat.running_jobs.includes('job-h1')));
    fake.pendingHeartbeatCancels.push('job-h1');
    await fake.waitFor('the cancel handed out', () => fake.pendingHeartbeatCancels.length === 0, 5_000);
    release();
    const until = performance.now() + 5_000;
    while (running.stats().cancelled === 0 && performance.now() < until) await settle(20);
    expect(running.stats().cancelled).toBe(1);
    await settle(200);
    expect(fake.completes.length + fake.fails.length).toBe(0);
  });

  it('drains: refuses new jobs, lets the running one finish and report, deregisters, closes', async () => {
    const fake = await coordinator('c1');
    const { circuit } = await serveCircuit(fake, 'mulchain');
    const running = await worker([fake], { id: 'w-drain', slots: 2 });
    await fake.waitFor('the stream', () => fake.streams.has('w-drain'));
    const release = fake.holdFetches();
    cleanups.push(async () => release());
    fake.assign('w-drain', assignmentFor(circuit, 'job-d1', mulchainInput()));
    await fake.waitFor('job-d1 started', () => fake.progress.some((report) => report.job_id === 'job-d1'));
    const drained = running.drain();
    expect(running.state()).toBe('draining');
    // A free slot, but draining: handed back at once, not proven.
    fake.assign('w-drain', assignmentFor(circuit, 'job-d2', mulchainInput()));
    await fake.waitFor('job-d2 handed back', () => fake.fails.some((f) => f.job_id === 'job-d2'));
    expect(fake.fails.find((f) => f.job_id === 'job-d2')).toMatchObject({ permanent: false, error_code: 'UNAVAILABLE', error_message: 'worker draining' });
    expect(running.runningJobs()).toEqual(['job-d1']);
    release();
    await drained;
    expect(fake.completes.map((c) => c.job_id)).toEqual(['job-d1']);
    expect(fake.deregisters).toEqual(['w-drain']);
    expect(running.state()).toBe('closed');
    await running.closed;
    // Deregistered after the result, not before (deregistering requeues the worker's jobs).
    expect(fake.fails.some((f) => f.job_id === 'job-d1')).toBe(false);
  });

  it('drains: a job still running when the grace period ends is handed back as "worker draining"', async () => {
    const fake = await coordinator('c1');
    const { circuit } = await serveCircuit(fake, 'mulchain');
    const running = await worker([fake], { id: 'w-grace', drainGrace_ms: 200 });
    await fake.waitFor('the stream', () => fake.streams.has('w-grace'));
    const release = fake.holdFetches();
    cleanups.push(async () => release());
    fake.assign('w-grace', assignmentFor(circuit, 'job-g1', mulchainInput()));
    await fake.waitFor('job-g1 started', () => fake.progress.some((report) => report.job_id === 'job-g1'));
    const started_ms = performance.now();
    const drained = running.drain();
    // The job sits in its circuit fetch past the grace period; the abort lands when the fetch ends.
    await settle(400);
    release();
    await drained;
    console.log(`[drain] handed back and closed ${Math.round(performance.now() - started_ms)} ms after drain()`);
    expect(fake.fails).toHaveLength(1);
    expect(fake.fails[0]).toMatchObject({ job_id: 'job-g1', attempt: 1, permanent: false, error_code: 'UNAVAILABLE', error_message: 'worker draining' });
    expect(fake.completes).toEqual([]);
    expect(fake.deregisters).toEqual(['w-grace']);
    expect(running.state()).toBe('closed');
  });

  it('follows the redirect of a follower to the leader for registration, the stream and results', async () => {
    const follower = await coordinator('f');
    const leader = await coordinator('l');
    follower.redirectTo = { id: 'l', address: leader.address };
    const { circuit } = await serveCircuit(leader, 'mulchain');
    // Only the follower is configured.
    await worker([follower], { id: 'w-redirect' });
    expect(follower.registrations).toHaveLength(0);
    expect(leader.registrations.map((info) => info.id)).toEqual(['w-redirect']);
    await leader.waitFor('the stream on the leader', () => leader.streams.has('w-redirect'));
    leader.assign('w-redirect', assignmentFor(circuit, 'job-r1', mulchainInput()));
    await leader.waitFor('job-r1 done', () => leader.completes.some((c) => c.job_id === 'job-r1'));
    expect(follower.streams.size).toBe(0);
  });

  it('re-opens the stream on the new leader after a failover, and reports there', async () => {
    const a = await coordinator('a');
    const b = await coordinator('b');
    a.redirectTo = { id: 'b', address: b.address };
    const { circuit } = await serveCircuit(b, 'mulchain');
    await serveCircuit(a, 'mulchain');
    await worker([a, b], { id: 'w-failover' });
    await b.waitFor('the stream on b', () => b.streams.has('w-failover'));
    // b loses leadership to a: its stream ends with the redirect.
    a.becomeLeader();
    b.becomeFollower({ id: 'a', address: a.address });
    await a.waitFor('the stream on a', () => a.streams.has('w-failover'), 5_000);
    a.assign('w-failover', assignmentFor(circuit, 'job-f1', mulchainInput()));
    await a.waitFor('job-f1 done on a', () => a.completes.some((c) => c.job_id === 'job-f1'));
    await a.waitFor('heartbeats on a', () => a.heartbeats.length > 0, 5_000);
    // Registration is replicated state: no second Register after a failover.
    expect(a.registrations).toHaveLength(0);
  });

  it('moves its stream when heartbeats find a new leader while the old stream stays open', async () => {
    const a = await coordinator('a');
    const b = await coordinator('b');
    await worker([a, b], { id: 'w-moved' });
    await a.waitFor('the stream on a', () => a.streams.has('w-moved'));
    // a answers calls with a redirect but leaves the stream open (a deposed leader that has not noticed).
    a.redirectTo = { id: 'b', address: b.address };
    await b.waitFor('the stream moved to b', () => b.streams.has('w-moved'), 5_000);
    await a.waitFor('the old stream closed', () => !a.streams.has('w-moved'), 5_000);
  });

  it('finds the other coordinator when the leader dies', async () => {
    const a = await coordinator('a');
    const b = await coordinator('b');
    b.redirectTo = { id: 'a', address: a.address };
    const { circuit } = await serveCircuit(b, 'mulchain');
    await worker([a, b], { id: 'w-dead' });
    await a.waitFor('the stream on a', () => a.streams.has('w-dead'));
    await a.close();
    b.becomeLeader();
    await b.waitFor('the stream on b', () => b.streams.has('w-dead'), 10_000);
    b.assign('w-dead', assignmentFor(circuit, 'job-x1', mulchainInput()));
    await b.waitFor('job-x1 done on b', () => b.completes.some((c) => c.job_id === 'job-x1'));
  });
});
