/**
 * Checks a worker's proof against its circuit's verification key before the
 * leader records it. Each key is loaded once (from the store, or handed over
 * at registration) and kept while the circuit is known; the verifier itself
 * is snarkjs's groth16.verify (a native verifier may replace it).
 */
import { InvalidArgumentError, NotFoundError, ZkpError } from '../../errors/index.ts';
import type { CircuitRecord } from '../state/records.ts';

export interface ProofCheck {
  readonly valid: boolean;
  /** Why not, for the worker's Ack and the job's error. */
  readonly reason: string;
}

/** Loads a circuit's verification key bytes (from the store). */
export type VerificationKeyLoader = (circuit: CircuitRecord) => Promise<Uint8Array>;

export class VerifierCache {
  private readonly keys = new Map<string, Promise<unknown>>();

  constructor(
    private readonly load: VerificationKeyLoader,
    /** snarkjs's groth16.verify, run off the event loop (crypto-pool.ts). */
    private readonly verify: (vkey: unknown, publicSignals: unknown, proof: unknown) => Promise<boolean>,
  ) {}

  /** Keeps a key the caller already holds (the circuit was just registered here). */
  remember(circuitId: string, vkey: unknown): void {
    this.keys.set(circuitId, Promise.resolve(vkey));
  }

  forget(circuitId: string): void {
    this.keys.delete(circuitId);
  }

  private key(circuit: CircuitRecord): Promise<unknown> {
    let key = this.keys.get(circuit.id);
    if (key === undefined) {
      key = this.load(circuit).then((bytes) => {
        try {
          return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
        } catch (error) {
          throw new InvalidArgumentError(`the stored verification key of circuit ${circuit.name} is not JSON (${(error as Error).message})`);
        }
      });
      // A failed load (store down) is not kept: the next check tries again.
      key.catch(() => this.keys.delete(circuit.id));
      this.keys.set(circuit.id, key);
    }
    return key;
  }

  /**
   * Verifies proof.json and public.json text. A malformed or wrong proof is
   * answered {valid:false}; a key that cannot be loaded throws (the caller
   * retries later: the worker's result is not judged without its key).
   */
  async check(circuit: CircuitRecord, proofJson: string, publicJson: string): Promise<ProofCheck> {
    let proof: unknown;
    let publicSignals: unknown;
    try {
      proof = JSON.parse(proofJson);
      publicSignals = JSON.parse(publicJson);
    } catch (error) {
      return { valid: false, reason: `the proof or public signals are not JSON (${(error as Error).message})` };
    }
    const vkey = await this.key(circuit);
    try {
      const ok = await this.verify(vkey, publicSignals, proof);
      return ok ? { valid: true, reason: '' } : { valid: false, reason: `the proof does not verify against the verification key of circuit ${circuit.name}` };
    } catch (error) {
      if (error instanceof ZkpError && error.code !== 'INTERNAL' && !(error instanceof NotFoundError)) return { valid: false, reason: error.message };
      throw error;
    }
  }
}
