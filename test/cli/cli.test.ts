/**
 * The `zkp` command end to end, through bin/zkp.js in a child process, with
 * real circuit files: success paths produce proofs snarkjs accepts; every
 * user error exits non-zero with exactly one line naming the problem, and
 * writes no proof.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { randomInput, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function zkp(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [ZKP, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Progress lines ("zkp: read zkey: 3 ms", "zkp: backend ...") that may precede an error. */
const PROGRESS_LINE = /^zkp: (backend .*|[\w ]+: \d+ ms)$/;

/** A user error: non-zero exit, one stderr line (besides progress) starting "zkp: ", no stack trace. */
function expectUserError(run: Run, exitCode: number, message: RegExp): void {
  expect(run.code, run.stderr).toBe(exitCode);
  const lines = run.stderr
    .trimEnd()
    .split('\n')
    .filter((line) => !PROGRESS_LINE.test(line));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^zkp: /);
  expect(lines[0]).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

let dir: string;
let chain: BuiltCircuit;
let other: BuiltCircuit;
let inputPath: string;
let wtnsPath: string;
let otherWtnsPath: string;

beforeAll(async () => {
  const rng = testRandom('cli');
  dir = await mkdtemp(join(tmpdir(), 'zkp-cli-'));
  chain = await testCircuit('mulchain');
  other = await testCircuit('manypublic');
  const sj = await snarkjs();
  inputPath = join(dir, 'input.json');
  await writeFile(inputPath, JSON.stringify(randomInput('mulchain', rng)));
  wtnsPath = join(dir, 'witness.wtns');
  await sj.wtns.calculate(randomInput('mulchain', rng), chain.wasm, wtnsPath);
  otherWtnsPath = join(dir, 'other.wtns');
  await sj.wtns.calculate(randomInput('manypublic', rng), other.wasm, otherWtnsPath);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('zkp CLI: success paths', () => {
  it('prove (snarkjs backend) writes files that zkp verify and snarkjs accept', async () => {
    const proof = join(dir, 'p1.json');
    const pub = join(dir, 'pub1.json');
    const run = await zkp('prove', chain.zkey, wtnsPath, proof, pub, '--backend', 'snarkjs');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/zkp: backend snarkjs: /);
    expect(run.stderr).toMatch(/zkp: msmH: \d+ ms/);
    const verified = await zkp('verify', chain.vkey, pub, proof);
    expect(verified.code, verified.stderr).toBe(0);
    const vkey = JSON.parse(await readFile(chain.vkey, 'utf8')) as unknown;
    expect(await verifyProof(vkey, JSON.parse(await readFile(pub, 'utf8')), JSON.parse(await readFile(proof, 'utf8')))).toBe(true);
  });

  it('prove with the default backend (native) and --verify --vkey', async () => {
    const proof = join(dir, 'p2.json');
    const pub = join(dir, 'pub2.json');
    const run = await zkp('prove', chain.zkey, wtnsPath, proof, pub, '--verify', '--vkey', chain.vkey);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/zkp: backend native: /);
    expect(run.stderr).toMatch(/\(verified\)/);
    expect((await zkp('verify', chain.vkey, pub, proof)).code).toBe(0);
  });

  it('fullprove --verify --quiet is silent and correct', async () => {
    const proof = join(dir, 'p3.json');
    const pub = join(dir, 'pub3.json');
    const run = await zkp('fullprove', inputPath, chain.wasm, chain.zkey, proof, pub, '--verify', '--quiet');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const text = await readFile(proof, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ protocol: 'groth16', curve: 'bn128' });
    expect((await zkp('verify', chain.vkey, pub, proof)).code).toBe(0);
  });

  it('witness writes the .wtns snarkjs wtns calculate writes, and prove accepts it', async () => {
    const ours = join(dir, 'ours.wtns');
    const run = await zkp('witness', chain.wasm, inputPath, ours);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/zkp: witness written to .*ours\.wtns \(\d+ bytes\) in \d+ ms/);
    const reference = join(dir, 'reference.wtns');
    await (await snarkjs()).wtns.calculate(JSON.parse(await readFile(inputPath, 'utf8')) as Record<string, string>, chain.wasm, reference);
    expect(Buffer.compare(await readFile(ours), await readFile(reference))).toBe(0);
    const proved = await zkp('prove', chain.zkey, ours, join(dir, 'pw.json'), join(dir, 'pubw.json'), '--quiet');
    expect(proved.code, proved.stderr).toBe(0);
    expect((await zkp('verify', chain.vkey, join(dir, 'pubw.json'), join(dir, 'pw.json'))).code).toBe(0);
  });

  it('prove verifies by default (natively, the key read from the zkey); --no-verify skips it', async () => {
    const proof = join(dir, 'p5.json');
    const pub = join(dir, 'pub5.json');
    const run = await zkp('prove', chain.zkey, wtnsPath, proof, pub);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/\(verified\)/);
    const skipped = await zkp('prove', chain.zkey, wtnsPath, join(dir, 'p6.json'), join(dir, 'pub6.json'), '--no-verify');
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).not.toMatch(/verified/);
    expect((await zkp('verify', chain.vkey, join(dir, 'pub6.json'), join(dir, 'p6.json'))).code).toBe(0);
    expectUserError(await zkp('prove', chain.zkey, wtnsPath, proof, pub, '--verify', '--no-verify'), 2, /contradict/);
    expectUserError(await zkp('prove', chain.zkey, wtnsPath, proof, pub, '--no-verify', '--vkey', chain.vkey), 2, /--vkey .* --no-verify/);
  });

  it('backends and --help', async () => {
    const listed = await zkp('backends');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^snarkjs\s+available/m);
    expect(listed.stdout).toMatch(/^native\s+/m);
    expect(listed.stdout).toMatch(/^webgpu\s+/m);
    const help = await zkp('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/zkp prove <circuit\.zkey>/);
  });
});

describe('zkp CLI: user errors', () => {
  it('a truncated zkey', async () => {
    const bytes = await readFile(chain.zkey);
    const cut = join(dir, 'cut.zkey');
    await writeFile(cut, bytes.subarray(0, bytes.byteLength - 1000));
    expectUserError(await zkp('prove', cut, wtnsPath, join(dir, 'x.json'), join(dir, 'y.json')), 4, /cut\.zkey: truncated/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
  });

  it('a corrupt zkey header (flipped bytes in nVars)', async () => {
    const bytes = new Uint8Array(await readFile(chain.zkey));
    // Section 2 is the second section: 12 (file) + 12 + 4 (section 1) + 12 (its header).
    const nVarsAt = 12 + 12 + 4 + 12 + 4 + 32 + 4 + 32;
    bytes[nVarsAt] = bytes[nVarsAt]! ^ 0xff;
    const bad = join(dir, 'flipped.zkey');
    await writeFile(bad, bytes);
    expectUserError(await zkp('prove', bad, wtnsPath, join(dir, 'x.json'), join(dir, 'y.json')), 4, /flipped\.zkey: section \d+ \(.+\) is \d+ bytes but/);
  });

  it('the witness of another circuit', async () => {
    expectUserError(
      await zkp('prove', chain.zkey, otherWtnsPath, join(dir, 'x.json'), join(dir, 'y.json')),
      5,
      /witness has 1018 values but .*circuit\.zkey expects 1503 \(is this the witness of another circuit\?\)/,
    );
  });

  it('input JSON: missing signal, out-of-range value, malformed JSON', async () => {
    const missing = join(dir, 'missing.json');
    await writeFile(missing, JSON.stringify({ a: '3' }));
    expectUserError(await zkp('fullprove', missing, chain.wasm, chain.zkey, join(dir, 'x.json'), join(dir, 'y.json')), 2, /missing input signal b/);
    const range = join(dir, 'range.json');
    await writeFile(range, JSON.stringify({ a: '3', b: BN254_R.toString() }));
    expectUserError(await zkp('fullprove', range, chain.wasm, chain.zkey, join(dir, 'x.json'), join(dir, 'y.json')), 2, /signal b = \d+ is out of range/);
    const malformed = join(dir, 'malformed.json');
    await writeFile(malformed, '{"a": 3, "b": ');
    expectUserError(await zkp('fullprove', malformed, chain.wasm, chain.zkey, join(dir, 'x.json'), join(dir, 'y.json')), 2, /malformed\.json: malformed JSON/);
    expect(existsSync(join(dir, 'x.json'))).toBe(false);
    expectUserError(await zkp('witness', chain.wasm, missing, join(dir, 'x.wtns')), 2, /missing input signal b/);
    expectUserError(await zkp('witness', chain.wasm, malformed, join(dir, 'x.wtns')), 2, /malformed\.json: malformed JSON/);
    expectUserError(await zkp('witness', join(dir, 'nope.wasm'), inputPath, join(dir, 'x.wtns')), 3, /nope\.wasm: no such file/);
    expectUserError(await zkp('witness', chain.wasm), 2, /witness takes 3 files/);
    expect(existsSync(join(dir, 'x.wtns'))).toBe(false);
  });

  it('a missing file, an unknown backend, bad usage', async () => {
    expectUserError(await zkp('prove', join(dir, 'nope.zkey'), wtnsPath, join(dir, 'x.json'), join(dir, 'y.json')), 3, /nope\.zkey: no such file/);
    expectUserError(await zkp('prove', chain.zkey, wtnsPath, join(dir, 'x.json'), join(dir, 'y.json'), '--backend', 'cuda'), 2, /unknown backend "cuda"/);
    expectUserError(await zkp('prove', chain.zkey), 2, /prove takes 4 files/);
    expectUserError(await zkp('frobnicate'), 2, /unknown command "frobnicate"/);
  });

  it('a zkey with a corrupted H point proves a proof that does not verify: exit 1, nothing written', async () => {
    const bytes = new Uint8Array(await readFile(chain.zkey));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Sections follow the 12-byte file header: u32 type, u64 size, then the data.
    let at = 12;
    let hAt = -1;
    while (at < bytes.length) {
      const type = view.getUint32(at, true);
      const size = Number(view.getBigUint64(at + 4, true));
      if (type === 9) hAt = at + 12;
      at += 12 + size;
    }
    expect(hAt).toBeGreaterThan(0);
    bytes[hAt + 5] = bytes[hAt + 5]! ^ 0x5a; // the first H point's x coordinate
    const bad = join(dir, 'bad-h.zkey');
    await writeFile(bad, bytes);
    const proof = join(dir, 'bad-proof.json');
    const pub = join(dir, 'bad-public.json');
    expectUserError(await zkp('prove', bad, wtnsPath, proof, pub), 1, /does not verify .*nothing written/);
    expect(existsSync(proof)).toBe(false);
    expect(existsSync(pub)).toBe(false);
  });

  it('verify rejects a proof for other public signals with exit 1', async () => {
    const proof = join(dir, 'p4.json');
    const pub = join(dir, 'pub4.json');
    expect((await zkp('prove', chain.zkey, wtnsPath, proof, pub, '--quiet')).code).toBe(0);
    const signals = JSON.parse(await readFile(pub, 'utf8')) as string[];
    signals[0] = (BigInt(signals[0]!) + 1n).toString();
    const tampered = join(dir, 'tampered.json');
    await writeFile(tampered, JSON.stringify(signals));
    expectUserError(await zkp('verify', chain.vkey, tampered, proof), 1, /does not verify/);
  });
});
