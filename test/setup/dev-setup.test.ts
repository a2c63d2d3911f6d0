/**
 * The development setup (src/setup/, `zkp setup --dev`) against snarkjs's own
 * setup of the same circuits (scripts/build-circuits.ts: Powers of Tau, then
 * snarkjs groth16 setup and a contribution): the same sections and sizes, the
 * same coefficient section byte for byte, the same points at infinity; proofs
 * made with the dev key by snarkjs and by the native prover verify with
 * snarkjs against the dev verification key, and a tampered public signal does
 * not. Inputs are random (seed logged; replay with ZKP_TEST_SEED).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { snarkjs, type SnarkjsModule } from '../../src/prover/ffjs.ts';
import { prove } from '../../src/prover/groth16.ts';
import { parseBinFile } from '../../src/prover/io/binfile.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { readWtns } from '../../src/prover/io/wtns.ts';
import { readZkey, type Groth16Zkey } from '../../src/prover/io/zkey.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { devSetup, type DevSetupStage } from '../../src/setup/dev-setup.ts';
import { randomInput, TEST_CIRCUIT_NAMES, testCircuit } from '../helpers/circuits.ts';
import { testRandom } from '../helpers/random.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');

let dir: string;
let sj: SnarkjsModule;
let native: ProverBackend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkp-dev-setup-'));
  sj = await snarkjs();
  native = await openBackend('native');
});

afterAll(async () => {
  await native?.close();
  await rm(dir, { recursive: true, force: true });
});

interface DevKey {
  zkeyPath: string;
  vkeyPath: string;
  stages: DevSetupStage[];
}

async function makeDevKey(circuit: BuiltCircuit, name = circuit.name): Promise<DevKey> {
  const zkeyPath = join(dir, `${name}.zkey`);
  const vkeyPath = join(dir, `${name}.vk.json`);
  const stages: DevSetupStage[] = [];
  await devSetup({ r1csPath: circuit.r1cs, zkeyPath, vkeyPath, progress: (stage) => stages.push(stage) });
  return { zkeyPath, vkeyPath, stages };
}

/** Per point: is it the point at infinity (all zero bytes)? */
function infinityPattern(points: Uint8Array, pointBytes: number): boolean[] {
  const pattern: boolean[] = [];
  for (let offset = 0; offset < points.byteLength; offset += pointBytes) pattern.push(points.subarray(offset, offset + pointBytes).every((byte) => byte === 0));
  return pattern;
}

/** Section types and sizes by type, contributions (section 10) aside: a ceremony's key has some, a dev key none. */
function sectionLayout(bytes: Uint8Array, label: string) {
  return parseBinFile(bytes, label, { magic: 'zkey', versions: [1] })
    .sections.map(({ type, size }) => ({ type, size: type === 10 ? 'contributions' : size }))
    .sort((left, right) => left.type - right.type);
}

/** Section 10 with no contribution: a 64-byte circuit hash, then a count of 0. */
function contributionCount(bytes: Uint8Array, label: string): number {
  const file = parseBinFile(bytes, label, { magic: 'zkey', versions: [1] });
  const section = file.sections.find((candidate) => candidate.type === 10)!;
  expect(section.size).toBe(68);
  return new DataView(bytes.buffer, bytes.byteOffset + section.offset + 64, 4).getUint32(0, true);
}

describe('dev setup against snarkjs setup', () => {
  for (const name of TEST_CIRCUIT_NAMES) {
    it(`${name}: same structure as snarkjs's key; proofs by snarkjs and by the native prover verify`, async () => {
      const rng = testRandom(`dev-setup ${name}`);
      const circuit = await testCircuit(name);
      const dev = await makeDevKey(circuit);
      expect(dev.stages.map((stage) => stage.stage)).toContain('G1 points');

      // Structure.
      const [ourBytes, theirBytes] = [await readFile(dev.zkeyPath), await readFile(circuit.zkey)];
      expect(sectionLayout(ourBytes, dev.zkeyPath)).toEqual(sectionLayout(theirBytes, circuit.zkey));
      expect(contributionCount(ourBytes, dev.zkeyPath)).toBe(0);
      const ours: Groth16Zkey = await readZkey(dev.zkeyPath);
      const theirs: Groth16Zkey = await readZkey(circuit.zkey);
      expect([ours.nVars, ours.nPublic, ours.domainSize]).toEqual([theirs.nVars, theirs.nPublic, theirs.domainSize]);
      expect(Buffer.from(ours.coeffs).equals(Buffer.from(theirs.coeffs)), 'coefficient section bytes').toBe(true);
      for (const [set, pointBytes] of [
        ['A', 64],
        ['B1', 64],
        ['B2', 128],
        ['C', 64],
        ['H', 64],
      ] as const) {
        expect(infinityPattern(ours.bases[set], pointBytes), `${set}: points at infinity`).toEqual(infinityPattern(theirs.bases[set], pointBytes));
      }
      expect(infinityPattern(ours.ic, 64)).toEqual(infinityPattern(theirs.ic, 64));
      // The secrets differ: a dev key shares no point with a ceremony's.
      expect(Buffer.from(ours.alpha1).equals(Buffer.from(theirs.alpha1))).toBe(false);

      const vkey = JSON.parse(await readFile(dev.vkeyPath, 'utf8')) as Record<string, unknown>;
      const snarkjsVkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as Record<string, unknown>;
      expect(Object.keys(vkey).sort()).toEqual(Object.keys(snarkjsVkey).sort());
      expect(vkey.nPublic).toBe(circuit.nPublic);
      expect(vkey).toEqual(await sj.zKey.exportVerificationKey(dev.zkeyPath));

      // snarkjs proves with the dev key.
      const wtnsPath = join(dir, `${name}.wtns`);
      await sj.wtns.calculate(randomInput(name, rng), circuit.wasm, wtnsPath);
      const bySnarkjs = await sj.groth16.prove(dev.zkeyPath, wtnsPath);
      expect(await verifyProof(vkey, bySnarkjs.publicSignals, bySnarkjs.proof), 'snarkjs proof with the dev key').toBe(true);
      expect(await verifyProof(snarkjsVkey, bySnarkjs.publicSignals, bySnarkjs.proof), 'against the ceremony key').toBe(false);

      // The native prover proves with the dev key.
      const byNative = await prove(ours, await readWtns(wtnsPath), { backend: native });
      expect(byNative.publicSignals).toEqual(bySnarkjs.publicSignals);
      expect(await verifyProof(vkey, byNative.publicSignals, byNative.proof), 'native proof with the dev key').toBe(true);
      const tampered = [...byNative.publicSignals];
      tampered[0] = ((BigInt(tampered[0]!) + 1n) % BN254_R).toString();
      expect(await verifyProof(vkey, tampered, byNative.proof), 'a tampered public signal').toBe(false);
    });
  }

  it('is reproducible: the same r1cs gives the same zkey, byte for byte', async () => {
    const circuit = await testCircuit('mulchain');
    const first = await makeDevKey(circuit, 'again-1');
    const second = await makeDevKey(circuit, 'again-2');
    expect(Buffer.from(await readFile(first.zkeyPath)).equals(Buffer.from(await readFile(second.zkeyPath)))).toBe(true);
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function zkp(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [ZKP, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Exit code, exactly one line besides the warning banner, naming the problem; no stack trace. */
function expectUserError(run: Run, exitCode: number, message: RegExp): void {
  expect(run.code, run.stderr).toBe(exitCode);
  const lines = run.stderr
    .trimEnd()
    .split('\n')
    .filter((line) => !/^zkp: (\*+|INSECURE .*|public .*|this key\. .*|setup: .*)$/.test(line));
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('zkp setup --dev', () => {
  let circuit: BuiltCircuit;
  beforeAll(async () => {
    circuit = await testCircuit('mulchain');
  });

  it('writes the zkey and vkey, with the INSECURE banner and a progress line per stage', async () => {
    const zkeyPath = join(dir, 'cli.zkey');
    const vkeyPath = join(dir, 'cli.vk.json');
    const run = await zkp('setup', '--dev', circuit.r1cs, zkeyPath, '--vkey', vkeyPath);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/INSECURE DEVELOPMENT KEY/);
    expect(run.stderr).toMatch(/never in production/);
    for (const stage of ['read r1cs', 'lagrange basis', 'wire evaluations', 'G1 points', 'G2 points', 'write zkey', 'write verification key']) {
      expect(run.stderr).toMatch(new RegExp(`zkp: setup: ${stage} \\(.*\\): \\d+ ms`));
    }
    expect(run.stderr).toMatch(/wrote INSECURE development key .*1500 constraints/);
    const zkey = await readZkey(zkeyPath);
    expect(zkey.nVars).toBe((await readZkey(circuit.zkey)).nVars);
    expect(existsSync(vkeyPath)).toBe(true);
  });

  it('--quiet drops the progress lines but not the warning', async () => {
    const run = await zkp('setup', '--dev', '--quiet', circuit.r1cs, join(dir, 'quiet.zkey'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/INSECURE DEVELOPMENT KEY/);
    expect(run.stderr).not.toMatch(/zkp: setup: /);
  });

  it('without --dev: refused, naming --dev, and writes nothing', async () => {
    const zkeyPath = join(dir, 'refused.zkey');
    const run = await zkp('setup', circuit.r1cs, zkeyPath);
    expectUserError(run, 2, /^zkp: zkp setup makes only INSECURE development keys .* needs --dev/);
    expect(run.stderr).not.toMatch(/wrote/);
    expect(existsSync(zkeyPath)).toBe(false);
  });

  it('bad input: one clear line each', async () => {
    const corrupt = async (file: string, edit: (bytes: Uint8Array) => Uint8Array): Promise<string> => {
      const path = join(dir, file);
      await writeFile(path, edit(new Uint8Array(await readFile(circuit.r1cs))));
      return path;
    };
    const out = join(dir, 'bad.zkey');
    expectUserError(await zkp('setup', '--dev', join(dir, 'missing.r1cs'), out), 3, /missing\.r1cs: no such file/);
    expectUserError(await zkp('setup', '--dev', circuit.r1cs, join(dir, 'no-such-dir', 'x.zkey')), 3, /no-such-dir.* does not exist/);
    expectUserError(await zkp('setup', '--dev', circuit.r1cs), 2, /setup --dev takes 2 files/);
    expectUserError(await zkp('setup', '--dev', circuit.zkey, out), 4, /not a \.r1cs file/);
    const truncated = await corrupt('truncated.r1cs', (bytes) => bytes.subarray(0, bytes.byteLength - 100));
    expectUserError(await zkp('setup', '--dev', truncated, out), 4, /truncated/);
    // Constraint 0 starts with its A term count; the first term's wire index follows it.
    const badWire = await corrupt('bad-wire.r1cs', (bytes) => {
      const copy = bytes.slice();
      const constraintsAt = findSection(copy, 2);
      new DataView(copy.buffer).setUint32(constraintsAt + 4, 0xfffffff0, true);
      return copy;
    });
    expectUserError(await zkp('setup', '--dev', badWire, out), 4, /constraint 0 \(A\) names wire 4294967280 but the circuit has 1503 wires/);
    const badCoefficient = await corrupt('bad-coefficient.r1cs', (bytes) => {
      const copy = bytes.slice();
      copy.fill(0xff, findSection(copy, 2) + 8, findSection(copy, 2) + 40);
      return copy;
    });
    expectUserError(await zkp('setup', '--dev', badCoefficient, out), 4, /constraint 0 \(A\) has a coefficient >= r/);
    expect(existsSync(out)).toBe(false);
  });
});

/** Offset of a section's data in an iden3 container. */
function findSection(bytes: Uint8Array, type: number): number {
  const file = parseBinFile(bytes, 'r1cs', { magic: 'r1cs', versions: [1] });
  const section = file.sections.find((candidate) => candidate.type === type);
  if (!section) throw new Error(`no section ${type}`);
  return section.offset;
}
