/**
 * `zkp prove --timings` (the compiled bin, as a user runs it) accounts for
 * its whole run: the stages it prints, with what no stage names
 * ('unaccounted'), add up to its own total, that total is nearly all of the
 * wall time measured from outside, and 'unaccounted' stays small.
 *
 * The wall time measured here also holds what the process cannot time
 * itself: the exec before node takes its time origin and the exit after the
 * report (together about 60 to 90 ms for a bare `node -e` on the loaded
 * 2-core machine), hence the tolerance on that comparison.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { parseTimings } from '../../src/prover/stage-timings.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');
/** Every stage a native prove with verification reports, in order. */
const STAGES = [
  'node start-up',
  'load the CLI',
  'load prover modules',
  'open backend',
  'read zkey',
  'read witness',
  'load groth16',
  'buildABC',
  'computeH',
  'loadCircuit',
  'msmA',
  'msmB1',
  'msmB2',
  'msmC',
  'msmH',
  'assemble',
  'verification key',
  'verify',
  'write proof',
  'close backend',
];
/** Each printed figure is rounded to 0.1 ms. */
const ROUNDING_MS = 0.05 * (STAGES.length + 2);

let dir: string;
let chain: BuiltCircuit;
let wtnsPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkp-timings-'));
  chain = await testCircuit('mulchain');
  wtnsPath = join(dir, 'witness.wtns');
  await (await snarkjs()).wtns.calculate(randomInput('mulchain', testRandom('stage timings')), chain.wasm, wtnsPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs bin/zkp.js; wall time from spawn to exit, as bench:prover measures it. */
function timedRun(args: readonly string[]): Promise<{ code: number | null; stderr: string; wall_ms: number }> {
  return new Promise((done, fail) => {
    const started_ms = performance.now();
    const child = spawn(process.execPath, [ZKP, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', fail);
    let wall_ms = 0;
    child.on('exit', () => {
      wall_ms = performance.now() - started_ms;
    });
    child.on('close', (code) => done({ code, stderr, wall_ms }));
  });
}

describe('zkp prove --timings', () => {
  it('names every stage; they and the unaccounted rest add up to the total, which is nearly the whole wall time', async () => {
    const proof = join(dir, 'proof.json');
    const pub = join(dir, 'public.json');
    const run = await timedRun(['prove', chain.zkey, wtnsPath, proof, pub, '--backend', 'native', '--quiet', '--timings']);
    expect(run.code, run.stderr).toBe(0);
    const vkey = JSON.parse(await readFile(chain.vkey, 'utf8')) as unknown;
    expect(await verifyProof(vkey, JSON.parse(await readFile(pub, 'utf8')), JSON.parse(await readFile(proof, 'utf8')))).toBe(true);

    const timings = parseTimings(run.stderr);
    expect([...timings.keys()], run.stderr).toEqual([...STAGES, 'unaccounted', 'total']);
    for (const [name, ms] of timings) if (name !== 'unaccounted') expect(ms, `${name}\n${run.stderr}`).toBeGreaterThanOrEqual(0);
    const total_ms = timings.get('total')!;
    const unaccounted_ms = timings.get('unaccounted')!;
    const stages_ms = STAGES.reduce((sum, name) => sum + timings.get(name)!, 0);

    // The report is consistent: the stages and the unaccounted rest make the total.
    expect(Math.abs(stages_ms + unaccounted_ms - total_ms), run.stderr).toBeLessThanOrEqual(ROUNDING_MS);
    // The names cover the run: the rest is a few percent at most.
    expect(unaccounted_ms, run.stderr).toBeGreaterThanOrEqual(-ROUNDING_MS);
    expect(unaccounted_ms, run.stderr).toBeLessThanOrEqual(Math.max(0.05 * total_ms, 30));
    // Its clock covers nearly all of the process's life as measured from outside.
    expect(total_ms, run.stderr).toBeLessThanOrEqual(run.wall_ms);
    expect(run.wall_ms - total_ms, `wall ${run.wall_ms.toFixed(1)} ms\n${run.stderr}`).toBeLessThanOrEqual(Math.max(0.2 * run.wall_ms, 200));
  });

  it('without --timings prints no timing lines; with --quiet it prints only them', async () => {
    const plain = await timedRun(['prove', chain.zkey, wtnsPath, join(dir, 'p1.json'), join(dir, 'q1.json'), '--quiet']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('');
    const timed = await timedRun(['prove', chain.zkey, wtnsPath, join(dir, 'p2.json'), join(dir, 'q2.json'), '--quiet', '--timings']);
    expect(timed.code, timed.stderr).toBe(0);
    for (const line of timed.stderr.trimEnd().split('\n')) expect(line).toMatch(/^zkp: timing /);
  });
});
