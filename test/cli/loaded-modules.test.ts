/**
 * `zkp verify` and `zkp prove --backend native`, run as a user runs them (the
 * compiled bin/zkp.js), load none of the heavy packages they do not use:
 * snarkjs and ffjavascript (with its WebAssembly builders and worker
 * threads), grpc/protobufjs and the database drivers. A preloaded hook
 * (test/helpers/record-loads.mjs) records every module the process resolves;
 * the snarkjs backend (ffjavascript), run the same way, shows that the hook
 * does see a package when it is loaded.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');
const HOOK = resolve(import.meta.dirname, '..', 'helpers', 'record-loads.mjs');

/** Packages a native prove or a verification must not load. */
const HEAVY_PACKAGES = [
  'snarkjs',
  'ffjavascript',
  'wasmcurves',
  'wasmbuilder',
  'web-worker',
  'circom_runtime',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  'protobufjs',
  'pg',
  '@electric-sql/pglite',
];

/** The packages (node_modules/<name> or node_modules/@scope/<name>) among the recorded module paths and URLs. */
function packagesIn(log: string): Set<string> {
  const names = new Set<string>();
  for (const match of log.matchAll(/node_modules\/((?:@[^/\n]+\/)?[^/\n]+)/g)) names.add(match[1] as string);
  return names;
}

let dir: string;
let chain: BuiltCircuit;
let wtnsPath: string;
let runs = 0;

/** Runs bin/zkp.js with the hook preloaded; returns its exit code, stderr and the packages it loaded. */
async function zkpLoading(...args: string[]): Promise<{ code: number; stderr: string; packages: Set<string> }> {
  const log = join(dir, `loads-${++runs}.log`);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((done) => {
    execFile(process.execPath, ['--import', HOOK, ZKP, ...args], { env: { ...process.env, ZKP_LOAD_LOG: log }, timeout: 120_000 }, (error, _stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stderr });
    });
  });
  const recorded = await readFile(log, 'utf8');
  // The hook must have seen the command itself load, or an empty log would pass.
  expect(recorded).toMatch(/dist\/src\/cli\/prover-commands\.js/);
  return { code, stderr, packages: packagesIn(recorded) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkp-loads-'));
  chain = await testCircuit('mulchain');
  wtnsPath = join(dir, 'witness.wtns');
  await (await snarkjs()).wtns.calculate(randomInput('mulchain', testRandom('loaded-modules')), chain.wasm, wtnsPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('what the prover commands load', () => {
  it('prove --backend native and verify load no snarkjs, ffjavascript, grpc or database driver', async () => {
    const proof = join(dir, 'proof.json');
    const pub = join(dir, 'public.json');
    const proved = await zkpLoading('prove', chain.zkey, wtnsPath, proof, pub, '--backend', 'native', '--quiet');
    expect(proved.code, proved.stderr).toBe(0);
    expect(HEAVY_PACKAGES.filter((name) => proved.packages.has(name))).toEqual([]);

    const verified = await zkpLoading('verify', chain.vkey, pub, proof);
    expect(verified.code, verified.stderr).toBe(0);
    expect(HEAVY_PACKAGES.filter((name) => verified.packages.has(name))).toEqual([]);
  });

  it('witness loads no snarkjs, ffjavascript, grpc or database driver', async () => {
    const input = join(dir, 'input.json');
    await writeFile(input, JSON.stringify(randomInput('mulchain', testRandom('loaded-modules witness'))));
    const computed = await zkpLoading('witness', chain.wasm, input, join(dir, 'ours.wtns'), '--quiet');
    expect(computed.code, computed.stderr).toBe(0);
    expect(HEAVY_PACKAGES.filter((name) => computed.packages.has(name))).toEqual([]);
  });

  it('the snarkjs backend loads ffjavascript on demand (the hook sees it)', async () => {
    const proved = await zkpLoading('prove', chain.zkey, wtnsPath, join(dir, 'p2.json'), join(dir, 'pub2.json'), '--backend', 'snarkjs', '--quiet');
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.packages.has('ffjavascript')).toBe(true);
    expect(proved.packages.has('wasmcurves')).toBe(true);
  });
});
