/**
 * The worker in-process against a scripted coordinator (FakeCoordinator, a
 * real gRPC server on loopback): registration, assignments proven with the
 * real native prover on the test circuits and verified with snarkjs, every
 * kind of input, bad input failing permanently with a clear message (and the
 * worker carrying on), progress throttling, resident circuits, duplicate
 * deliveries, slots, and re-registration when the cluster forgets it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompleteRequestMessage, FailRequestMessage } from '../../src/api/types.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { type RunningWorker, startWorker } from '../../src/worker/main.ts';
import { randomInput } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';
import { FakeCoordinator } from './fake-coordinator.ts';
import { FAST_ROUTER, type ServedCircuit, assignmentFor, encodeWtns, serveCircuit, testLogger, wtnsFor } from './helpers.ts';

const rng = testRandom('worker');

interface JobResult {
  readonly complete: CompleteRequestMessage | undefined;
  readonly fail: FailRequestMessage | undefined;
}

async function resultOf(fake: FakeCoordinator, jobId: string, timeout_ms = 60_000): Promise<JobResult> {
  const find = (): JobResult => ({ complete: fake.completes.find((c) => c.job_id === jobId), fail: fake.fails.find((f) => f.job_id === jobId) });
  await fake.waitFor(`a result of ${jobId}`, () => find().complete !== undefined || find().fail !== undefined, timeout_ms);
  return find();
}

async function expectVerifies(served: ServedCircuit, complete: CompleteRequestMessage): Promise<string[]> {
  const publicSignals = JSON.parse(complete.public_json) as string[];
  const module = await snarkjs();
  expect(await module.groth16.verify(served.vkey, publicSignals, JSON.parse(complete.proof_json))).toBe(true);
  return publicSignals;
}

describe('worker with a scripted coordinator', () => {
  const fake = new FakeCoordinator({ lease_ms: 600 });
  let worker: RunningWorker;
  let mulchain: ServedCircuit;
  let bits: ServedCircuit;
  let cacheDir = '';
  let jobCounter = 0;
  const nextJob = () => `job-${++jobCounter}`;

  beforeAll(async () => {
    await fake.start();
    mulchain = await serveCircuit(fake, 'mulchain');
    // Without a registered vkey: the worker derives it from the zkey.
    bits = await serveCircuit(fake, 'bits', { withVkey: false });
    cacheDir = await mkdtemp(join(tmpdir(), 'zkp-worker-cache-'));
    worker = await startWorker({
      id: 'w-test-1',
      coordinators: [fake.address],
      backends: ['native', 'snarkjs'],
      cacheDir,
      logger: testLogger(),
      router: FAST_ROUTER,
    });
    await fake.waitFor('the assignments stream', () => fake.streams.has('w-test-1'));
  });

  afterAll(async () => {
    await worker?.close();
    await fake.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('registers with its detected capabilities', () => {
    expect(worker.id).toBe('w-test-1');
    expect(worker.backend).toBe('native');
    expect(fake.registrations).toHaveLength(1);
    const info = fake.registrations[0]!;
    expect(info).toMatchObject({ id: 'w-test-1', backends: ['native', 'snarkjs'], slots: 1, gpu: null });
    expect(info.memory_bytes).toBeGreaterThan(0);
    expect(info.threads).toBeGreaterThan(0);
    expect(info.address).not.toBe('');
  });

  it('proves an input JSON with the native prover; snarkjs verifies the proof; progress is reported by stage, at most 5 per second', async () => {
    const input = randomInput('mulchain', rng);
    const jobId = nextJob();
    expect(fake.assign(worker.id, assignmentFor(mulchain.circuit, jobId, { json: JSON.stringify(input) }, 2))).toBe(true);
    const { complete, fail } = await resultOf(fake, jobId);
    expect(fail).toBeUndefined();
    expect(complete).toMatchObject({ worker_id: 'w-test-1', job_id: jobId, attempt: 2, backend: 'native' });
    expect(complete!.prove_ms).toBeGreaterThan(0);
    const publicSignals = await expectVerifies(mulchain, complete!);
    expect(publicSignals[1]).toBe(input.a);

    const reports = fake.progress.filter((report) => report.job_id === jobId);
    expect(reports.length).toBeGreaterThan(0);
    expect(reports[0]!.progress).toMatchObject({ stage: 'fetch', done: 0, fraction: 0 });
    expect(reports.every((report) => report.attempt === 2 && report.worker_id === 'w-test-1')).toBe(true);
    const fractions = reports.map((report) => report.progress.fraction);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
    // The throttle: reports of a job leave at least 200 ms apart, so at most 5 per second (arrivals may jitter a little).
    const arrivals = fake.progress.flatMap((report, index) => (report.job_id === jobId ? [fake.progressArrivals_ms[index]!] : []));
    for (let index = 1; index < arrivals.length; index++) expect(arrivals[index]! - arrivals[index - 1]!).toBeGreaterThan(150);
    expect(worker.residentCircuits()).toEqual([mulchain.circuit.id]);
  });

  it('keeps the circuit resident: a second job fetches nothing; heartbeats report the resident circuit', async () => {
    const fetchesBefore = fake.fetches.length;
    const jobId = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, jobId, { json: JSON.stringify(randomInput('mulchain', rng)) }));
    const { complete } = await resultOf(fake, jobId);
    await expectVerifies(mulchain, complete!);
    expect(fake.fetches.length).toBe(fetchesBefore);
    const heartbeatsBefore = fake.heartbeats.length;
    await fake.waitFor('a heartbeat', () => fake.heartbeats.length > heartbeatsBefore);
    expect(fake.heartbeats.at(-1)).toMatchObject({ worker_id: 'w-test-1', resident_circuits: [mulchain.circuit.id] });
  });

  it('proves a given .wtns, and inputs given by hash (JSON or .wtns), and a circuit registered without a vkey', async () => {
    const input = randomInput('mulchain', rng);
    const wtns = await wtnsFor(mulchain.built, input);
    const wtnsJob = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, wtnsJob, { wtns }));
    await expectVerifies(mulchain, (await resultOf(fake, wtnsJob)).complete!);

    const jsonSha = fake.addArtifact('INPUT', Buffer.from(JSON.stringify(randomInput('mulchain', rng))));
    const jsonByHash = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, jsonByHash, { sha256: jsonSha, isWtns: false }));
    await expectVerifies(mulchain, (await resultOf(fake, jsonByHash)).complete!);

    const wtnsSha = fake.addArtifact('INPUT', wtns);
    const wtnsByHash = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, wtnsByHash, { sha256: wtnsSha, isWtns: true }));
    const complete = (await resultOf(fake, wtnsByHash)).complete!;
    await expectVerifies(mulchain, complete);
    expect(complete.public_json).toBe((fake.completes.find((c) => c.job_id === wtnsJob) as CompleteRequestMessage).public_json);

    const bitsJob = nextJob();
    fake.assign(worker.id, assignmentFor(bits.circuit, bitsJob, { json: JSON.stringify(randomInput('bits', rng)) }));
    await expectVerifies(bits, (await resultOf(fake, bitsJob)).complete!);
  });

  it('fails bad input permanently with its code and a message naming the problem, and keeps working', async () => {
    const good = randomInput('mulchain', rng);
    const nVars = mulchain.circuit.n_vars;
    // A witness of the right size whose values satisfy nothing (w[0] = 1 as circom's).
    const unsatisfied = new Uint8Array(nVars * 32);
    for (let index = 0; index < nVars; index++) {
      let value = index === 0 ? 1n : rng.below(BN254_R);
      for (let byte = 0; byte < 32; byte++, value >>= 8n) unsatisfied[index * 32 + byte] = Number(value & 0xffn);
    }
    const bitsWtns = await wtnsFor(bits.built, randomInput('bits', rng));
    const cases: { name: string; circuit: ServedCircuit; input: Parameters<typeof assignmentFor>[2]; code: string; message: RegExp }[] = [
      { name: 'malformed JSON', circuit: mulchain, input: { json: '{"a": 1,' }, code: 'INVALID_ARGUMENT', message: /input: malformed JSON/ },
      { name: 'not an object', circuit: mulchain, input: { json: '[1, 2]' }, code: 'INVALID_ARGUMENT', message: /must be a JSON object/ },
      { name: 'missing signal', circuit: mulchain, input: { json: JSON.stringify({ a: good.a }) }, code: 'INVALID_ARGUMENT', message: /missing input signals/ },
      {
        name: 'unknown signal',
        circuit: mulchain,
        input: { json: JSON.stringify({ ...good, c: '5' }) },
        code: 'MISMATCH',
        message: /signal c is not an input of this circuit/,
      },
      {
        name: 'value out of the field',
        circuit: mulchain,
        input: { json: JSON.stringify({ a: BN254_R.toString(), b: '1' }) },
        code: 'INVALID_ARGUMENT',
        message: /signal a = .* is out of range/,
      },
      { name: 'not a number', circuit: mulchain, input: { json: JSON.stringify({ a: 'x1', b: '1' }) }, code: 'INVALID_ARGUMENT', message: /signal a = "x1"/ },
      {
        name: 'witness fails the constraints',
        circuit: bits,
        input: { json: JSON.stringify({ values: Array.from({ length: 13 }, () => (1n << 201n).toString()) }) },
        code: 'INVALID_ARGUMENT',
        message: /the input does not satisfy the circuit/,
      },
      {
        name: 'garbage .wtns',
        circuit: mulchain,
        input: { wtns: Buffer.from('not a witness file at all') },
        code: 'CORRUPT_FILE',
        message: /not a \.wtns file/,
      },
      {
        name: '.wtns of another circuit',
        circuit: mulchain,
        input: { wtns: bitsWtns },
        code: 'MISMATCH',
        message: /witness has \d+ values but .* expects \d+/,
      },
      {
        name: '.wtns that satisfies nothing',
        circuit: mulchain,
        input: { wtns: encodeWtns(unsatisfied) },
        code: 'VERIFICATION_FAILED',
        message: /does not verify .* the witness does not satisfy the circuit's constraints/,
      },
    ];
    for (const testCase of cases) {
      const jobId = nextJob();
      fake.assign(worker.id, assignmentFor(testCase.circuit.circuit, jobId, testCase.input));
      const { complete, fail } = await resultOf(fake, jobId);
      expect(complete, testCase.name).toBeUndefined();
      expect(fail, testCase.name).toMatchObject({ job_id: jobId, attempt: 1, permanent: true, error_code: testCase.code });
      expect(fail!.error_message, testCase.name).toMatch(testCase.message);
      expect(fail!.error_message, testCase.name).toContain(jobId);
    }
    // An assignment without any input.
    const noInput = nextJob();
    const bare = assignmentFor(mulchain.circuit, noInput, { json: '' });
    delete bare.input;
    delete bare.input_json;
    fake.assign(worker.id, bare);
    expect((await resultOf(fake, noInput)).fail).toMatchObject({ permanent: true, error_code: 'INVALID_ARGUMENT' });

    const after = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, after, { json: JSON.stringify(good) }));
    await expectVerifies(mulchain, (await resultOf(fake, after)).complete!);
    expect(worker.state()).toBe('running');
  });

  it('fails non-permanently when the circuit cannot be fetched', async () => {
    const jobId = nextJob();
    const missing = { ...mulchain.circuit, id: 'f'.repeat(64), zkey_sha256: 'f'.repeat(64), name: 'missing' };
    fake.assign(worker.id, assignmentFor(missing, jobId, { json: '{}' }));
    const { fail } = await resultOf(fake, jobId);
    expect(fail).toMatchObject({ permanent: false, error_code: 'NOT_FOUND' });
    expect(fail!.error_message).toMatch(/loading the circuit failed: no artifact f{64}/);
  });

  it('ignores a duplicate delivery, and answers a re-delivery of a finished attempt by re-sending its result', async () => {
    const jobId = nextJob();
    const assignment = assignmentFor(mulchain.circuit, jobId, { json: JSON.stringify(randomInput('mulchain', rng)) });
    const completedBefore = worker.stats().completed;
    fake.assign(worker.id, assignment);
    fake.assign(worker.id, assignment);
    const { complete } = await resultOf(fake, jobId);
    fake.assign(worker.id, assignment);
    await fake.waitFor('the result re-sent', () => fake.completes.filter((c) => c.job_id === jobId).length === 2);
    const both = fake.completes.filter((c) => c.job_id === jobId);
    expect(both[1]).toEqual(complete);
    // Proven once.
    expect(worker.stats().completed - completedBefore).toBe(1);
  });

  it('hands back an assignment beyond its free slots', async () => {
    fake.fetchDelay_ms = 0;
    const first = nextJob();
    const second = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, first, { json: JSON.stringify(randomInput('mulchain', rng)) }));
    fake.assign(worker.id, assignmentFor(mulchain.circuit, second, { json: JSON.stringify(randomInput('mulchain', rng)) }));
    const rejected = await resultOf(fake, second);
    expect(rejected.fail).toMatchObject({ permanent: false, error_code: 'RESOURCE_EXHAUSTED' });
    expect(rejected.fail!.error_message).toMatch(/no free slot/);
    expect((await resultOf(fake, first)).complete).toBeDefined();
  });

  it('registers again when a heartbeat says the cluster forgot it', async () => {
    const registrations = fake.registrations.length;
    fake.forgetHeartbeats = 1;
    await fake.waitFor('a second registration', () => fake.registrations.length > registrations, 5_000);
    const jobId = nextJob();
    fake.assign(worker.id, assignmentFor(mulchain.circuit, jobId, { json: JSON.stringify(randomInput('mulchain', rng)) }));
    expect((await resultOf(fake, jobId)).complete).toBeDefined();
  });
});
