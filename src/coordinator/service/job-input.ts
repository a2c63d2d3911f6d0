/**
 * SubmitJob's input, checked before anything is proposed: input JSON must be
 * a JSON object of signals whose values are field elements (the prover's own
 * parser says what is wrong and where); a .wtns must be a BN254 witness whose
 * size is the circuit's nVars and whose first value is 1.
 */
import type { SubmitJobRequestMessage } from '../../api/types.ts';
import { InvalidArgumentError, MismatchError, ResourceExhaustedError } from '../../errors/index.ts';
import { BN254_N8 } from '../../prover/io/bn254.ts';
import { readBigUintLE } from '../../prover/io/binfile.ts';
import { parseWtns } from '../../prover/io/wtns.ts';
import { normalizeInput, parseInputJson } from '../../prover/witness.ts';
import type { CircuitRecord } from '../state/records.ts';

export type CheckedInput = { readonly kind: 'json'; readonly json: string; readonly bytes: Uint8Array } | { readonly kind: 'wtns'; readonly bytes: Uint8Array };

/**
 * Checks the request's input against the circuit. `input_bytes_max` bounds
 * either form (the gRPC message bound is the hard one; this one has a clearer
 * message). Throws InvalidArgumentError (malformed), MismatchError (a witness
 * of another circuit) or ResourceExhaustedError (too large).
 */
export function checkJobInput(request: SubmitJobRequestMessage, circuit: CircuitRecord, input_bytes_max: number): CheckedInput {
  const which = request.input ?? (request.witness_wtns !== undefined && request.witness_wtns.length > 0 ? 'witness_wtns' : 'input_json');
  if (which === 'witness_wtns') {
    const bytes = request.witness_wtns ?? Buffer.alloc(0);
    if (bytes.length === 0) throw new InvalidArgumentError('witness_wtns is empty');
    if (bytes.length > input_bytes_max)
      throw new ResourceExhaustedError(`witness_wtns is ${bytes.length} bytes; a job's input may be at most ${input_bytes_max} bytes`);
    const witness = parseWtns(bytes, 'witness_wtns');
    if (witness.nWitness !== circuit.n_vars) {
      throw new MismatchError(
        `witness_wtns has ${witness.nWitness} values but circuit ${circuit.name} (${circuit.id.slice(0, 12)}) has ${circuit.n_vars} variables: is it the witness of another circuit?`,
      );
    }
    if (readBigUintLE(witness.values, 0, BN254_N8) !== 1n)
      throw new MismatchError('witness_wtns: its first value must be 1 (not a circom witness, or corrupt)');
    return { kind: 'wtns', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }
  const json = request.input_json ?? '';
  if (json.length === 0) throw new InvalidArgumentError('the job has no input: give input_json (the circuit signals as a JSON object) or witness_wtns');
  const bytes = new TextEncoder().encode(json);
  if (bytes.length > input_bytes_max)
    throw new ResourceExhaustedError(`input_json is ${bytes.length} bytes; a job's input may be at most ${input_bytes_max} bytes`);
  const input = parseInputJson(json, 'input_json');
  const signals = normalizeInput(input, 'input_json');
  if (signals.size === 0) throw new InvalidArgumentError('input_json is an empty object: it must name the circuit input signals');
  return { kind: 'json', json, bytes };
}
