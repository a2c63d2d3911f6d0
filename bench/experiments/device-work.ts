/**
 * Device work per prove-like sequence on the WebGPU backend, as a function
 * of the number of MSMs over the witness: computeH, then `m` G1 MSMs over
 * the witness (A, B1, C (a part), A again...) and the H MSM, with the
 * witness and h shared when the backend offers ResidentCircuit.shareScalars.
 * Prints buffers created and bytes uploaded per sequence (the second of two
 * runs: the first one also makes the arenas). G1 only, so it runs in minutes
 * on lavapipe; the G2 MSM (B2) goes through the same engine code.
 *
 *   npx tsx bench/experiments/device-work.ts [log2n]     (default 6)
 */
import { buildBn128 } from 'ffjavascript';
import { createRawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';

const log2n = Number(process.argv[2] ?? 6);
if (!Number.isInteger(log2n) || log2n < 2 || log2n > 16) throw new Error(`log2n must be an integer from 2 to 16, got ${process.argv[2]}`);
const n = 2 ** log2n;
const curve = await buildBn128(true);
const backend = await createRawWebgpuBackend(deviceOptionsFromEnv());
const bases = new Uint8Array(n * 64);
for (let i = 0; i < n; i++) bases.set(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, 5 + 3 * i)), i * 64);
const vector = (): Uint8Array => {
  const out = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) out.set(curve.Fr.random(), i * 32); // < r: a Montgomery vector, and reduced scalars
  return out;
};
const circuit = await backend.loadCircuit({ id: `device-work-${log2n}`, A: bases, B1: bases, B2: new Uint8Array(0), C: bases, H: bases });
const sets = ['A', 'B1', 'C', 'A', 'B1', 'C'] as const;
console.log(`${backend.describe()}\nn = 2^${log2n}; shareScalars ${circuit.shareScalars ? 'offered' : 'absent'}`);
console.log('| G1 MSMs over the witness (+ H) | buffers created | bytes uploaded | param bytes uploaded | bytes read |\n|---|---|---|---|---|');
for (const m of [1, 2, 3, 6]) {
  let row = '';
  for (let run = 0; run < 2; run++) {
    const witness = vector();
    const before = backend.gpu.counters() as unknown as Record<string, number>;
    const h = await backend.computeH(vector(), vector(), vector(), log2n);
    const release = await circuit.shareScalars?.([witness, h]);
    for (const set of sets.slice(0, m)) await circuit.msmG1(set, set === 'C' ? witness.subarray(2 * 32) : witness);
    await circuit.msmG1('H', h);
    await release?.();
    const after = backend.gpu.counters() as unknown as Record<string, number>;
    const d = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    row = `| ${m} | ${d('buffers_created')} | ${d('bytes_uploaded')} | ${after.param_bytes_uploaded === undefined ? '(counted in bytes uploaded)' : d('param_bytes_uploaded')} | ${d('bytes_read')} |`;
  }
  console.log(row);
}
await backend.close();
await curve.terminate();
