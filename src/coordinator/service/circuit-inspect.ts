/**
 * What the coordinator reads from an uploaded circuit before it registers it:
 * the zkey's sizes (parsed and checked by the prover's reader), the wasm's
 * magic number, and the verification key (derived from the zkey with snarkjs
 * when not given; when given, it must be the zkey's own).
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { CorruptFileError, InvalidArgumentError, MismatchError } from '../../errors/index.ts';
import { verificationKeyOf } from '../../prover/prove-files.ts';
import { readZkey, type Groth16Zkey } from '../../prover/io/zkey.ts';
import type { CircuitSpec } from '../state/commands.ts';
import type { SpooledArtifact } from './circuit-upload.ts';

/** The checked, spooled files of an upload (plain data, so it can cross to the crypto thread). */
export interface UploadedArtifacts {
  readonly wasm: SpooledArtifact;
  readonly zkey: SpooledArtifact;
  readonly vkey: SpooledArtifact | null;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

export interface InspectedCircuit {
  readonly spec: CircuitSpec;
  /** The verification key as stored (the client's bytes, or the derived key as JSON). */
  readonly vkeyBytes: Uint8Array;
  readonly vkeyDerived: boolean;
  readonly vkey: unknown;
}

/** Constraints of the circuit: the zkey's coeffs name rows up to nConstraints + nPublic (snarkjs adds one row per public input and one for the constant). */
export function constraintCount(zkey: Groth16Zkey): number {
  const view = new DataView(zkey.coeffs.buffer, zkey.coeffs.byteOffset, zkey.coeffs.byteLength);
  let rows = 0;
  for (let index = 0; index < zkey.nCoeffs; index++) {
    const constraint = view.getUint32(4 + index * 44 + 4, true);
    if (constraint + 1 > rows) rows = constraint + 1;
  }
  return Math.max(0, rows - zkey.nPublic - 1);
}

async function checkWasm(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    await file.read(head, 0, 4, 0);
    if (!WASM_MAGIC.every((byte, index) => head[index] === byte)) throw new CorruptFileError('the WASM artifact is not a WebAssembly module (no \\0asm magic)');
  } finally {
    await file.close();
  }
}

/** The fields that make a verification key this zkey's (nPublic and the points). */
const VKEY_FIELDS = ['protocol', 'curve', 'nPublic', 'vk_alpha_1', 'vk_beta_2', 'vk_gamma_2', 'vk_delta_2', 'IC'] as const;

function sameVerificationKey(given: Record<string, unknown>, derived: Record<string, unknown>): string | null {
  for (const field of VKEY_FIELDS) {
    if (JSON.stringify(given[field]) !== JSON.stringify(derived[field])) return field;
  }
  return null;
}

/** Reads and checks the files; CPU-heavy for a large zkey, so the service runs it on its crypto thread (crypto-pool.ts). */
export async function inspectCircuit(upload: UploadedArtifacts, name: string): Promise<InspectedCircuit> {
  await checkWasm(upload.wasm.path);
  const zkey = await readZkey(upload.zkey.path);
  if (zkey.id !== upload.zkey.sha256) throw new MismatchError(`the zkey read back hashes to ${zkey.id}, not ${upload.zkey.sha256}`);
  const derived = (await verificationKeyOf(zkey)) as Record<string, unknown>;
  let vkeyBytes: Uint8Array;
  let vkey: unknown = derived;
  if (upload.vkey !== null) {
    vkeyBytes = await readFile(upload.vkey.path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(vkeyBytes).toString('utf8'));
    } catch (error) {
      throw new InvalidArgumentError(`the VKEY is not JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new InvalidArgumentError('the VKEY must be a JSON object (verification_key.json)');
    const differs = sameVerificationKey(parsed as Record<string, unknown>, derived);
    if (differs !== null) throw new MismatchError(`the VKEY is not this zkey's verification key (its ${differs} differs): is it the key of another circuit?`);
    vkey = parsed;
  } else {
    vkeyBytes = new TextEncoder().encode(`${JSON.stringify(derived, null, 1)}\n`);
  }
  const spec: CircuitSpec = {
    id: upload.zkey.sha256,
    name,
    wasm_sha256: upload.wasm.sha256,
    zkey_sha256: upload.zkey.sha256,
    vkey_sha256: createHash('sha256').update(vkeyBytes).digest('hex'),
    wasm_bytes: upload.wasm.bytes,
    zkey_bytes: upload.zkey.bytes,
    vkey_bytes: vkeyBytes.length,
    n_constraints: constraintCount(zkey),
    n_vars: zkey.nVars,
    n_public: zkey.nPublic,
    domain_size: zkey.domainSize,
  };
  return { spec, vkeyBytes, vkeyDerived: upload.vkey === null, vkey };
}
