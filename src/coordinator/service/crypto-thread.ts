/**
 * The coordinator's crypto process: the CPU-heavy checks (reading a zkey and
 * deriving its verification key; verifying a Groth16 proof) run here, off the
 * event loop that drives Raft, where a pause of a few hundred milliseconds
 * would cost the leader its leadership. A child process rather than a worker
 * thread: snarkjs's curve (ffjavascript, through web-worker) assumes that any
 * worker thread it is loaded in is one of its own. Requests and answers are
 * plain data over IPC (crypto-pool.ts is the other end); the process exits
 * when its parent goes (the IPC channel closes).
 */
import { ZkpError } from '../../errors/index.ts';
import { bn128, snarkjs } from '../../prover/ffjs.ts';
import { verifyProof } from '../../prover/prove-files.ts';
import { nativeVerifierAddon } from '../../prover/verify/native.ts';
import { inspectCircuit, type UploadedArtifacts } from './circuit-inspect.ts';

export type CryptoRequest =
  | { readonly op: 'inspect'; readonly artifacts: UploadedArtifacts; readonly name: string }
  | { readonly op: 'verify'; readonly vkey: unknown; readonly publicSignals: unknown; readonly proof: unknown }
  /**
   * Loads the verifier now, so the first verification after a failover is not slowed by it: the native
   * addon where it is built (then snarkjs loads only if a circuit is registered), else snarkjs and its curve.
   */
  | { readonly op: 'warm' };

export type CryptoReply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string };

async function handle(request: CryptoRequest): Promise<unknown> {
  if (request.op === 'inspect') return inspectCircuit(request.artifacts, request.name);
  if (request.op === 'warm') {
    if (nativeVerifierAddon() !== null) return true;
    await snarkjs();
    await bn128();
    return true;
  }
  return verifyProof(request.vkey, request.publicSignals, request.proof);
}

const send = process.send?.bind(process);
if (send === undefined) throw new Error('crypto-thread.ts runs as a child process with an IPC channel (crypto-pool.ts starts it)');
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { id: number; request: CryptoRequest }) => {
  handle(message.request).then(
    (result) => send({ id: message.id, ok: true, result } satisfies CryptoReply),
    (error: unknown) =>
      send({
        id: message.id,
        ok: false,
        code: error instanceof ZkpError ? error.code : 'INTERNAL',
        message: error instanceof Error ? error.message : String(error),
      } satisfies CryptoReply),
  );
});
