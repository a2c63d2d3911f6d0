/**
 * File-level proving, shared by the CLI and the bench: read and check the
 * zkey and witness, prove, optionally verify (natively, or with snarkjs when
 * the addon is not built), write snarkjs's
 * proof.json / public.json.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, VerificationFailedError } from '../errors/index.ts';
import type { ProverBackend } from './backend.ts';
import { snarkjs } from './ffjs.ts';
import type { ProgressEvent, ProveResult, ProveStage } from './groth16.ts';
import { fileReadError } from './io/binfile.ts';
import type { Witness } from './io/wtns.ts';
import type { Groth16Zkey } from './io/zkey.ts';
import { nativeVerifierAddon, preparedVerifyingKeyFor } from './verify/native.ts';
import { verificationKeyOfZkey } from './verify/zkey-vkey.ts';

/** The steps proveAndWrite adds around prove()'s stages. */
export type FileStage = 'load groth16' | 'verification key' | 'verify' | 'write proof';

/** prove()'s progress events and proveAndWrite's own steps, reported alike. */
export interface FileProgressEvent {
  readonly stage: ProveStage | FileStage;
  readonly phase: 'start' | 'end';
  /** Set on 'end': wall time of the stage. */
  readonly duration_ms?: number;
  /** When the event happened (performance.now() clock), where it was reported later; absent: now. */
  readonly at_ms?: number;
}

export interface ProveAndWriteOptions {
  readonly backend: ProverBackend;
  readonly zkey: Groth16Zkey;
  readonly witness: Witness;
  readonly proofPath: string;
  readonly publicPath: string;
  /** Verify (verifyProof) before writing; the key comes from vkeyPath or is derived from the zkey. */
  readonly verify: boolean;
  readonly vkeyPath?: string;
  readonly progress?: (event: FileProgressEvent) => void;
}

export async function proveAndWrite(options: ProveAndWriteOptions): Promise<ProveResult> {
  const step = async <T>(stage: FileStage, body: () => Promise<T>): Promise<T> => {
    options.progress?.({ stage, phase: 'start' });
    const started_ms = performance.now();
    const result = await body();
    options.progress?.({ stage, phase: 'end', duration_ms: performance.now() - started_ms });
    return result;
  };
  // Imported here so that `zkp verify`, which uses this module too, does not load the prover.
  const { prove } = await step('load groth16', () => import('./groth16.ts'));
  const progress = options.progress as ((event: ProgressEvent) => void) | undefined;
  const result = await prove(options.zkey, options.witness, { backend: options.backend, ...(progress ? { progress } : {}) });
  if (options.verify) {
    const vkeyPath = options.vkeyPath;
    const vkey = await step('verification key', () => (vkeyPath === undefined ? checkingKeyOf(options.zkey) : readJsonFile(vkeyPath, 'verification key')));
    const ok = await step('verify', () => verifyProof(vkey, result.publicSignals, result.proof));
    if (!ok) {
      throw new VerificationFailedError(
        `the proof from backend ${options.backend.name} does not verify against ${options.vkeyPath ?? `the key of ${options.zkey.label}`}; nothing written`,
      );
    }
  }
  await step('write proof', async () => {
    await writeFile(options.proofPath, `${JSON.stringify(result.proof, null, 1)}\n`);
    await writeFile(options.publicPath, `${JSON.stringify(result.publicSignals, null, 1)}\n`);
  });
  return result;
}

/** snarkjs's export of the zkey's verification key, vk_alphabeta_12 included: the verification_key.json users keep. */
export async function verificationKeyOf(zkey: Groth16Zkey): Promise<unknown> {
  const module = await snarkjs();
  return module.zKey.exportVerificationKey(zkey.label);
}

/** A key to check a proof with: read from the zkey itself (no snarkjs) when the native verifier will check; else snarkjs's export. */
async function checkingKeyOf(zkey: Groth16Zkey): Promise<unknown> {
  return nativeVerifierAddon() !== null ? verificationKeyOfZkey(zkey) : verificationKeyOf(zkey);
}

/**
 * Verifies a proof: with the native verifier (src/prover/verify/native.ts,
 * keys prepared once and cached by content) when the addon is built, else
 * with snarkjs.groth16.verify. A structurally bad proof or key is reported as
 * InvalidArgumentError, not thrown as a TypeError.
 */
export async function verifyProof(vkey: unknown, publicSignals: unknown, proof: unknown): Promise<boolean> {
  if (!Array.isArray(publicSignals)) throw new InvalidArgumentError('public signals must be a JSON array');
  const expectedPublic = (vkey as { nPublic?: unknown } | null)?.nPublic;
  if (typeof expectedPublic === 'number' && expectedPublic !== publicSignals.length) {
    throw new InvalidArgumentError(`public signals has ${publicSignals.length} values but the verification key expects ${expectedPublic}`);
  }
  if (nativeVerifierAddon() !== null) return preparedVerifyingKeyFor(vkey).verify(publicSignals, proof);
  return verifyProofWithSnarkjs(vkey, publicSignals, proof);
}

/** snarkjs.groth16.verify: the reference, and the fallback when the addon is not built. */
export async function verifyProofWithSnarkjs(vkey: unknown, publicSignals: unknown, proof: unknown): Promise<boolean> {
  const module = await snarkjs();
  try {
    return await module.groth16.verify(vkey, publicSignals, proof);
  } catch (error) {
    throw new InvalidArgumentError(
      `cannot verify: the proof, public signals or verification key is malformed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
    );
  }
}

export async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw fileReadError(path, error);
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${path}: malformed JSON in the ${what} (${error instanceof Error ? error.message : String(error)})`);
  }
}
