/**
 * Progress stages and the report throttle; and cancellation inside the
 * prover: an abort during a stage stops the job at the next stage boundary
 * (proveAssignment run directly, on the native backend, the circuit served
 * from an in-memory artifact source).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CircuitMessage } from '../../src/api/types.ts';
import { CancelledError } from '../../src/errors/index.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import '../../src/prover/backends/index.ts';
import { ArtifactCache } from '../../src/worker/artifact-cache.ts';
import { JOB_STAGES, type JobStage, ProgressThrottle, progressAtStart } from '../../src/worker/progress.ts';
import { JobFailure, proveAssignment } from '../../src/worker/prove-assignment.ts';
import { ResidentCircuits } from '../../src/worker/resident-circuits.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';
import { MemoryArtifacts, assignmentFor } from './helpers.ts';

describe('progress', () => {
  it('gives each stage its start fraction, in order, summing to 1', () => {
    expect(JOB_STAGES.reduce((sum, entry) => sum + entry.weight, 0)).toBeCloseTo(1, 9);
    expect(progressAtStart('fetch')).toEqual({ stage: 'fetch', done: 0, total: JOB_STAGES.length, fraction: 0 });
    expect(progressAtStart('witness').fraction).toBeCloseTo(0.02, 9);
    expect(progressAtStart('verify').fraction).toBeCloseTo(0.96, 9);
    const fractions = JOB_STAGES.map((entry) => progressAtStart(entry.stage).fraction);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
  });

  it('throttles reports: the first at once, then at most one per interval, the latest winning; nothing after stop()', async () => {
    const sent: { value: number; at_ms: number }[] = [];
    const started_ms = performance.now();
    const throttle = new ProgressThrottle<number>(async (value) => {
      sent.push({ value, at_ms: performance.now() - started_ms });
    }, 100);
    for (let value = 0; value < 50; value++) {
      throttle.push(value);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    // ~500 ms of pushes every 10 ms: about 6 reports, never 50.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(sent.length).toBeLessThanOrEqual(8);
    expect(sent[0]!.value).toBe(0);
    expect(sent.at(-1)!.value).toBe(49);
    for (let index = 1; index < sent.length; index++) expect(sent[index]!.at_ms - sent[index - 1]!.at_ms).toBeGreaterThanOrEqual(95);
    const count = sent.length;
    throttle.push(100);
    throttle.stop();
    throttle.push(101);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sent.length).toBeLessThanOrEqual(count + 1);
    expect(sent.some((entry) => entry.value === 101)).toBe(false);
  });
});

describe('proveAssignment cancellation', () => {
  const rng = testRandom('worker-abort');
  let backend: ProverBackend;
  let circuits: ResidentCircuits;
  let cache: ArtifactCache;
  let circuit: CircuitMessage;
  let dir = '';

  beforeAll(async () => {
    const artifacts = new MemoryArtifacts();
    circuit = await artifacts.addCircuit(await testCircuit('mulchain'));
    dir = await mkdtemp(join(tmpdir(), 'zkp-worker-abort-'));
    cache = new ArtifactCache({ dir, source: artifacts.source });
    backend = await openBackend('native');
    circuits = new ResidentCircuits({ cache, backend, bytes_max: 64 * 1024 * 1024 });
  });
  afterAll(async () => {
    await circuits?.clear();
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (stopAt: JobStage | null) => {
    const controller = new AbortController();
    const stages: JobStage[] = [];
    const reason = new CancelledError('cancelled by the test');
    const result = proveAssignment(assignmentFor(circuit, 'job-abort', { json: JSON.stringify(randomInput('mulchain', rng)) }), {
      circuits,
      cache,
      backend,
      reference: null,
      signal: controller.signal,
      onStage: (stage) => {
        stages.push(stage);
        if (stage === stopAt) controller.abort(reason);
      },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    return { result, stages, reason };
  };

  it('runs every stage when not aborted', async () => {
    const { result, stages } = run(null);
    const proved = await result;
    expect(proved.backend).toBe('native');
    expect(stages).toEqual(JOB_STAGES.map((entry) => entry.stage));
  });

  for (const stopAt of ['fetch', 'witness', 'ntt', 'msm-A', 'msm-B2', 'assemble'] as const) {
    it(`an abort during ${stopAt} stops the job before the next stage, with the abort reason`, async () => {
      const { result, stages, reason } = run(stopAt);
      await expect(result).rejects.toBe(reason);
      expect(stages.at(-1)).toBe(stopAt);
      // The circuit's lease was released: it can be evicted again.
      expect(circuits.ids()).toEqual([circuit.id]);
    });
  }

  it('returns the verified proof when the abort comes during verify, the last stage (the worker drops it on cancel, reports it on drain)', async () => {
    const { result, stages } = run('verify');
    expect((await result).backend).toBe('native');
    expect(stages.at(-1)).toBe('verify');
  });

  it('reports an input error as a permanent JobFailure naming the job', async () => {
    const error = await proveAssignment(assignmentFor(circuit, 'job-bad', { json: '{"a": "1"}' }), {
      circuits,
      cache,
      backend,
      reference: null,
      signal: new AbortController().signal,
      onStage: () => {},
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JobFailure);
    expect(error).toMatchObject({ permanent: true, code: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/^job job-bad input: missing input signals/);
  });
});
