/**
 * The Groth16 prover: the same computation as snarkjs's groth16_prove.js,
 * with the heavy steps (buildABC, H, the five MSMs) delegated to a backend and
 * the final assembly (a few point additions and scalar multiplications with
 * r and s) done as small MSMs on the same backend, so the output is identical
 * to snarkjs's for the same r and s and a native prove loads no ffjavascript.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { assert, InvalidArgumentError } from '../errors/index.ts';
import { FR_BYTES, G1_AFFINE_BYTES, G2_AFFINE_BYTES, type ProverBackend } from './backend.ts';
import { BN254_R } from './io/bn254.ts';
import { readBigUintLE } from './io/binfile.ts';
import type { Witness } from './io/wtns.ts';
import { checkWitnessFitsZkey } from './io/wtns.ts';
import type { Groth16Zkey } from './io/zkey.ts';
import { g1ToJson, g2ToJson } from './proof-points.ts';

/** snarkjs's proof.json. */
export interface Groth16Proof {
  pi_a: [string, string, string];
  pi_b: [[string, string], [string, string], [string, string]];
  pi_c: [string, string, string];
  protocol: 'groth16';
  curve: 'bn128';
}

export interface ProveResult {
  proof: Groth16Proof;
  /** public.json: the public signals as decimal strings. */
  publicSignals: string[];
}

export type ProveStage = 'buildABC' | 'computeH' | 'loadCircuit' | 'msmA' | 'msmB1' | 'msmB2' | 'msmC' | 'msmH' | 'assemble';

export interface ProgressEvent {
  readonly stage: ProveStage;
  readonly phase: 'start' | 'end';
  /** Set on 'end': wall time of the stage. */
  readonly duration_ms?: number;
  /** When the event happened (performance.now() clock), where it was reported later (a backend's buildH times buildABC and computeH inside one call); absent: now. */
  readonly at_ms?: number;
}

export interface ProveLogger {
  debug(object: object, message?: string): void;
}

export interface ProveOptions {
  readonly backend: ProverBackend;
  /**
   * Draws r, then s (each in 0..r-1). Tests pass fixed values to compare with
   * snarkjs; when absent, r and s come from the OS CSPRNG. Never reuse them.
   */
  readonly random?: () => bigint;
  readonly progress?: (event: ProgressEvent) => void;
  readonly logger?: ProveLogger;
}

export async function prove(zkey: Groth16Zkey, witness: Witness, options: ProveOptions): Promise<ProveResult> {
  checkWitnessFitsZkey(witness, zkey);
  const { backend } = options;
  const stage = async <T>(name: ProveStage, body: () => Promise<T>): Promise<T> => {
    options.progress?.({ stage: name, phase: 'start' });
    const started_ms = performance.now();
    const result = await body();
    const duration_ms = performance.now() - started_ms;
    options.progress?.({ stage: name, phase: 'end', duration_ms });
    options.logger?.debug({ stage: name, duration_ms, backend: backend.name }, 'groth16 stage done');
    return result;
  };

  // A mapped zkey's sections leave memory as soon as they have been used (releasePages).
  const done = (section: Uint8Array) => zkey.releasePages?.(section);
  const values = witness.values;
  const h = await buildH(backend, zkey, values, options);
  done(zkey.coeffs);
  assert(h.byteLength === zkey.domainSize * FR_BYTES, 'computeH returns domainSize scalars');

  const { bases } = zkey;
  const circuit = await stage('loadCircuit', () => backend.loadCircuit(bases));
  // Optional: a backend that uploads scalars (webgpu) takes the witness and h once for all five MSMs.
  const unshare = await circuit.shareScalars?.([values, h]);
  const piA = await stage('msmA', () => circuit.msmG1('A', values));
  done(bases.A);
  const piB1 = await stage('msmB1', () => circuit.msmG1('B1', values));
  done(bases.B1);
  const piB2 = await stage('msmB2', () => circuit.msmG2('B2', values));
  done(bases.B2);
  const piC = await stage('msmC', () => circuit.msmG1('C', values.subarray((zkey.nPublic + 1) * FR_BYTES)));
  done(bases.C);
  const resH = await stage('msmH', () => circuit.msmG1('H', h));
  done(bases.H);
  await unshare?.();
  for (const point of [piA, piB1, piC, resH]) assert(point.byteLength === G1_AFFINE_BYTES, 'G1 MSM result is affine');
  assert(piB2.byteLength === G2_AFFINE_BYTES, 'G2 MSM result is affine');

  const draw = options.random ?? randomScalar;
  // r and s are drawn inside the stage: the first draw from the CSPRNG can take milliseconds (its seeding).
  const proof = await stage('assemble', () => {
    const r = checkedScalar(draw(), 'r');
    const s = checkedScalar(draw(), 's');
    return assemble(backend, zkey, { piA, piB1, piB2, piC, resH }, r, s);
  });

  const publicSignals: string[] = [];
  for (let index = 1; index <= zkey.nPublic; index++) publicSignals.push(readBigUintLE(values, index * FR_BYTES, FR_BYTES).toString());
  return { proof, publicSignals };
}

/** H's scalars: buildABC then computeH, in one call when the backend has buildH; reported as the two stages either way. */
async function buildH(backend: ProverBackend, zkey: Groth16Zkey, values: Uint8Array, options: ProveOptions): Promise<Uint8Array> {
  const end = (stage: ProveStage, start_ms: number, end_ms: number) => {
    options.progress?.({ stage, phase: 'end', duration_ms: end_ms - start_ms, at_ms: end_ms });
    options.logger?.debug({ stage, duration_ms: end_ms - start_ms, backend: backend.name }, 'groth16 stage done');
  };
  const started_ms = performance.now();
  options.progress?.({ stage: 'buildABC', phase: 'start', at_ms: started_ms });
  if (backend.buildH) {
    const { h, buildABC_ms } = await backend.buildH(zkey.coeffs, values, zkey.log2DomainSize);
    // The call's own overhead goes to computeH, so the two spans cover the call exactly.
    const built_ms = Math.min(started_ms + buildABC_ms, performance.now());
    end('buildABC', started_ms, built_ms);
    options.progress?.({ stage: 'computeH', phase: 'start', at_ms: built_ms });
    end('computeH', built_ms, performance.now());
    return h;
  }
  const abc = await backend.buildABC(zkey.coeffs, values, zkey.domainSize);
  const built_ms = performance.now();
  end('buildABC', started_ms, built_ms);
  options.progress?.({ stage: 'computeH', phase: 'start', at_ms: built_ms });
  const h = await backend.computeH(abc.a, abc.b, abc.c, zkey.log2DomainSize);
  end('computeH', built_ms, performance.now());
  return h;
}

interface MsmResults {
  piA: Uint8Array;
  piB1: Uint8Array;
  piB2: Uint8Array;
  piC: Uint8Array;
  resH: Uint8Array;
}

/**
 * snarkjs's final steps, each sum of points written as one small MSM on the
 * backend (so a native prove needs no ffjavascript):
 *   A  = msmA + alpha1 + r*delta1            B = msmB2 + beta2 + s*delta2 (G2)
 *   B1 = msmB1 + beta1 + s*delta1            C = msmC + msmH + s*A + r*B1 - r*s*delta1
 * Point arithmetic is exact, so the result is snarkjs's for the same r and s.
 */
async function assemble(backend: ProverBackend, zkey: Groth16Zkey, msm: MsmResults, r: bigint, s: bigint): Promise<Groth16Proof> {
  const piA = await backend.msmG1(concatBytes([msm.piA, zkey.alpha1, zkey.delta1]), scalarBytes([1n, 1n, r]));
  const piB = await backend.msmG2(concatBytes([msm.piB2, zkey.beta2, zkey.delta2]), scalarBytes([1n, 1n, s]));
  const piB1 = await backend.msmG1(concatBytes([msm.piB1, zkey.beta1, zkey.delta1]), scalarBytes([1n, 1n, s]));
  const minusRs = (BN254_R - ((r * s) % BN254_R)) % BN254_R;
  const piC = await backend.msmG1(concatBytes([msm.piC, msm.resH, piA, piB1, zkey.delta1]), scalarBytes([1n, 1n, s, r, minusRs]));
  return { pi_a: g1ToJson(piA), pi_b: g2ToJson(piB), pi_c: g1ToJson(piC), protocol: 'groth16', curve: 'bn128' };
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** MSM scalars: standard form, 32 bytes little-endian each. */
function scalarBytes(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * FR_BYTES);
  values.forEach((value, index) => {
    let rest = value;
    for (let byte = 0; byte < FR_BYTES; byte++) {
      out[index * FR_BYTES + byte] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  });
  return out;
}

function randomScalar(): bigint {
  // 64 random bytes reduced mod r: the bias is below 2^-250.
  return readBigUintLE(randomBytes(64), 0, 64) % BN254_R;
}

function checkedScalar(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value >= BN254_R) throw new InvalidArgumentError(`random ${what} must be a bigint in 0..r-1`);
  return value;
}
