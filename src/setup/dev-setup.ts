/**
 * A Groth16 proving key from known, INSECURE toxic waste (toxic-waste.ts),
 * with no Powers of Tau: with tau, alpha, beta, gamma and delta in hand, every
 * point of the key is a known scalar times a generator. The stages:
 *   1. read and check the .r1cs (r1cs.ts);
 *   2. L_i(tau) over the domain, by a native inverse NTT (domain.ts);
 *   3. A_j(tau), B_j(tau), C_j(tau) per wire by one pass over the constraints,
 *      with the zkey's coefficient section (qap.ts);
 *   4. the per-wire scalars (key-scalars.ts) and the H scalars (domain.ts);
 *   5. every G1 point in one native fixed-base batch, every G2 point in another;
 *   6. the zkey (zkey-writer.ts), and the verification key through snarkjs.
 * The zkey is snarkjs's format: snarkjs and this project's prover both prove
 * with it; it differs from a ceremony's only in that its secrets are public.
 */
import { performance } from 'node:perf_hooks';
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { NotFoundError } from '../errors/index.ts';
import { loadNativeAddon, type NativeAddon } from '../prover/backends/native/addon.ts';
import { snarkjs } from '../prover/ffjs.ts';
import { hScalars, lagrangeAt, setupDomain } from './domain.ts';
import { FR_BYTES, writeFr, viewOf } from './fr.ts';
import { keyScalars } from './key-scalars.ts';
import { evaluateWires } from './qap.ts';
import { readR1cs } from './r1cs.ts';
import { DEV_TOXIC_WASTE, type ToxicWaste } from './toxic-waste.ts';
import { writeZkey } from './zkey-writer.ts';

const G1_BYTES = 64;
const G2_BYTES = 128;

export interface DevSetupStage {
  readonly stage: string;
  /** What the stage handled, for the progress line ("65536 points"). */
  readonly detail: string;
  readonly duration_ms: number;
}

export interface DevSetupOptions {
  readonly r1csPath: string;
  readonly zkeyPath: string;
  /** Also write the verification key (as `snarkjs zkey export verificationkey`). */
  readonly vkeyPath?: string;
  /** Called when each stage ends. */
  readonly progress?: (stage: DevSetupStage) => void;
  /** Default: the published development secrets. */
  readonly secrets?: ToxicWaste;
  readonly addon?: NativeAddon;
}

export interface DevSetupResult {
  readonly nConstraints: number;
  readonly nVars: number;
  readonly nPublic: number;
  readonly domainSize: number;
  readonly duration_ms: number;
}

export async function devSetup(options: DevSetupOptions): Promise<DevSetupResult> {
  const started_ms = performance.now();
  const secrets = options.secrets ?? DEV_TOXIC_WASTE;
  const stage = async <T>(name: string, detail: string, body: () => T | Promise<T>): Promise<T> => {
    const stageStarted_ms = performance.now();
    const result = await body();
    options.progress?.({ stage: name, detail, duration_ms: performance.now() - stageStarted_ms });
    return result;
  };

  await expectDirectory(options.zkeyPath);
  if (options.vkeyPath !== undefined) await expectDirectory(options.vkeyPath);
  const r1cs = await stage('read r1cs', options.r1csPath, () => readR1cs(options.r1csPath));
  const addon = options.addon ?? loadNativeAddon();
  const domain = setupDomain(r1cs.nConstraints, r1cs.nPublic, r1cs.label);
  const { nWires, nPublic } = r1cs;
  const terms = r1cs.termCounts.a + r1cs.termCounts.b + r1cs.termCounts.c;

  const lagrange = await stage('lagrange basis', `2^${domain.log2n}`, () => lagrangeAt(addon, secrets.tau, domain));
  const wires = await stage('wire evaluations', `${r1cs.nConstraints} constraints, ${terms} terms`, () => evaluateWires(r1cs, lagrange, domain));
  const scalars = await stage('key scalars', `${nWires} wires`, () => keyScalars(wires, nPublic, secrets));
  const h = await stage('H scalars', `2^${domain.log2n}`, () => hScalars(addon, secrets.tau, secrets.delta, domain));

  // One batch per group, so the window table is built once: header points first, then the sections.
  const g1Parts = [secretScalars([secrets.alpha, secrets.beta, secrets.delta]), scalars.ic, scalars.a, scalars.b, scalars.c, h];
  const g1Count = g1Parts.reduce((total, part) => total + part.byteLength / FR_BYTES, 0);
  const g1 = await stage('G1 points', `${g1Count} points`, () => addon.fixedBaseG1(concat(g1Parts)));
  const [headerG1, ic, a, b1, c, hPoints] = split(g1, g1Parts, G1_BYTES);
  const g2Parts = [secretScalars([secrets.beta, secrets.gamma, secrets.delta]), scalars.b];
  const g2 = await stage('G2 points', `${nWires + 3} points`, () => addon.fixedBaseG2(concat(g2Parts)));
  const [headerG2, b2] = split(g2, g2Parts, G2_BYTES);

  await stage('write zkey', options.zkeyPath, () =>
    writeZkey(options.zkeyPath, {
      nVars: nWires,
      nPublic,
      domainSize: domain.size,
      alpha1: headerG1!.subarray(0, G1_BYTES),
      beta1: headerG1!.subarray(G1_BYTES, 2 * G1_BYTES),
      delta1: headerG1!.subarray(2 * G1_BYTES, 3 * G1_BYTES),
      beta2: headerG2!.subarray(0, G2_BYTES),
      gamma2: headerG2!.subarray(G2_BYTES, 2 * G2_BYTES),
      delta2: headerG2!.subarray(2 * G2_BYTES, 3 * G2_BYTES),
      ic: ic!,
      coeffs: wires.coeffs,
      a: a!,
      b1: b1!,
      b2: b2!,
      c: c!,
      h: hPoints!,
    }),
  );
  const vkeyPath = options.vkeyPath;
  if (vkeyPath !== undefined) {
    await stage('write verification key', vkeyPath, async () => {
      const vkey = await (await snarkjs()).zKey.exportVerificationKey(options.zkeyPath);
      await writeFile(vkeyPath, `${JSON.stringify(vkey, null, 1)}\n`).catch((error: unknown) => {
        const code = (error as { code?: string } | null)?.code;
        throw code === 'ENOENT' ? new NotFoundError(`${vkeyPath}: cannot write: its directory does not exist`) : error;
      });
    });
  }
  return { nConstraints: r1cs.nConstraints, nVars: nWires, nPublic, domainSize: domain.size, duration_ms: performance.now() - started_ms };
}

/** Fails before any work when an output's directory is missing, not after minutes of it. */
async function expectDirectory(outputPath: string): Promise<void> {
  const directory = dirname(outputPath);
  const info = await stat(directory).catch(() => null);
  if (info === null || !info.isDirectory()) throw new NotFoundError(`${outputPath}: cannot write: directory ${directory} does not exist`);
}

function secretScalars(values: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(values.length * FR_BYTES);
  const view = viewOf(bytes);
  for (const [index, value] of values.entries()) writeFr(view, index * FR_BYTES, value);
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

/** The points of each part's scalars, in order. */
function split(points: Uint8Array, scalarParts: readonly Uint8Array[], pointBytes: number): Uint8Array[] {
  let offset = 0;
  return scalarParts.map((part) => {
    const length = (part.byteLength / FR_BYTES) * pointBytes;
    const slice = points.subarray(offset, offset + length);
    offset += length;
    return slice;
  });
}
