/**
 * One rung of the ladder each: an MSM (G1 or G2), an NTT, or a whole
 * Groth16 prove, on the WebGPU backend and on the native backend in the same
 * process, every WebGPU result compared with the native one byte for byte
 * (proofs: made with the same r and s, so they must be identical, and each
 * checked by the native verifier, which must also refuse a tampered public
 * signal). Each returns the figures for the report and whether all matched.
 *
 * Timings, in ms: e2e = the plain API call (uploads bases and scalars, reads
 * back), first run cold, then warm; resident = over bases already on the
 * device (loadCircuit); kernel = device time of the compute passes of one
 * more resident run (timestamp-query; null where the adapter lacks it).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProverBackend } from '../../src/prover/backend.ts';
import type { NativeAddon } from '../../src/prover/backends/native/addon.ts';
import type { RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { type ProgressEvent, prove, type ProveResult } from '../../src/prover/groth16.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { readWtns } from '../../src/prover/io/wtns.ts';
import { readZkey } from '../../src/prover/io/zkey.ts';
import { prepareVerifyingKey } from '../../src/prover/verify/native.ts';
import { verificationKeyOfZkey } from '../../src/prover/verify/zkey-vkey.ts';
import type { Prng } from '../../src/random/prng.ts';
import { devSetup } from '../../src/setup/dev-setup.ts';
import { type BaseCache, randomFieldElements } from './inputs.ts';
import { stepsForDomain, syntheticCircuit } from './synthetic-circuit.ts';

export interface LadderContext {
  readonly gpu: RawWebgpuBackend;
  readonly native: ProverBackend;
  readonly addon: NativeAddon;
  readonly rng: Prng;
  readonly bases: { readonly G1: BaseCache; readonly G2: BaseCache };
  /** Where circuits and keys are written (and removed again). */
  readonly workDir: string;
  readonly say: (line: string) => void;
}

export interface RungOutcome {
  readonly matched: boolean;
  readonly results: Record<string, unknown>;
}

const EMPTY = new Uint8Array(0);

async function timed<T>(body: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await body();
  return { ms: round(performance.now() - started), value };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export async function msmRung(context: LadderContext, group: 'G1' | 'G2', log2n: number): Promise<RungOutcome> {
  const { gpu, native, rng } = context;
  const n = 2 ** log2n;
  const inputs = await timed(async () => ({ bases: await context.bases[group].take(n), scalars: randomFieldElements(rng, n) }));
  const { bases, scalars } = inputs.value;
  const plain = (backend: ProverBackend) => () => (group === 'G1' ? backend.msmG1(bases, scalars) : backend.msmG2(bases, scalars));

  const e2e = [await timed(plain(gpu)), await timed(plain(gpu))];
  const upload = await timed(() =>
    gpu.loadCircuit(
      group === 'G1'
        ? { id: `ladder-msm-g1-${log2n}`, A: bases, B1: EMPTY, B2: EMPTY, C: EMPTY, H: EMPTY }
        : { id: `ladder-msm-g2-${log2n}`, A: EMPTY, B1: EMPTY, B2: bases, C: EMPTY, H: EMPTY },
    ),
  );
  const circuit = upload.value;
  const resident = () => (group === 'G1' ? circuit.msmG1('A', scalars) : circuit.msmG2('B2', scalars));
  let kernel_ms: number | null = null;
  let residentRuns: Array<{ ms: number; value: Uint8Array }>;
  try {
    residentRuns = [await timed(resident), await timed(resident)];
    if (gpu.gpu.startKernelTiming()) {
      await resident();
      kernel_ms = await gpu.gpu.stopKernelTiming();
    }
  } finally {
    await circuit.release();
  }
  const baseline = await timed(plain(native));
  const matched = [...e2e, ...residentRuns].every((run) => equal(run.value, baseline.value));
  return {
    matched,
    results: {
      n,
      inputs_ms: inputs.ms,
      webgpu_e2e_ms: e2e.map((run) => run.ms),
      webgpu_upload_ms: upload.ms,
      webgpu_resident_ms: residentRuns.map((run) => run.ms),
      webgpu_kernel_ms: kernel_ms === null ? null : round(kernel_ms),
      native_ms: baseline.ms,
      native_over_webgpu_warm: round(baseline.ms / e2e[1]!.ms),
    },
  };
}

export async function nttRung(context: LadderContext, log2n: number): Promise<RungOutcome> {
  const { gpu, native, rng } = context;
  const n = 2 ** log2n;
  const values = randomFieldElements(rng, n);
  const forward = [await timed(() => gpu.ntt(values, log2n, 'forward')), await timed(() => gpu.ntt(values, log2n, 'forward'))];
  let kernel_ms: number | null = null;
  if (gpu.gpu.startKernelTiming()) {
    await gpu.ntt(values, log2n, 'forward');
    kernel_ms = await gpu.gpu.stopKernelTiming();
  }
  const inverse = await timed(() => gpu.ntt(values, log2n, 'inverse'));
  const nativeForward = await timed(() => native.ntt(values, log2n, 'forward'));
  const nativeInverse = await timed(() => native.ntt(values, log2n, 'inverse'));
  const matched = forward.every((run) => equal(run.value, nativeForward.value)) && equal(inverse.value, nativeInverse.value);
  return {
    matched,
    results: {
      n,
      webgpu_forward_ms: forward.map((run) => run.ms),
      webgpu_forward_kernel_ms: kernel_ms === null ? null : round(kernel_ms),
      webgpu_inverse_ms: inverse.ms,
      native_forward_ms: nativeForward.ms,
      native_inverse_ms: nativeInverse.ms,
      native_over_webgpu_warm: round(nativeForward.ms / forward[1]!.ms),
    },
  };
}

/** Stage durations of one prove, from prove()'s progress events. */
function stageTimes(): { readonly stages: Record<string, number>; readonly progress: (event: ProgressEvent) => void } {
  const stages: Record<string, number> = {};
  const progress = (event: ProgressEvent): void => {
    if (event.phase === 'end') stages[event.stage] = round(event.duration_ms ?? 0);
  };
  return { stages, progress };
}

/**
 * The synthetic MulChain circuit filling 2^log2n (synthetic-circuit.ts), its
 * development key (src/setup), one native prove and two WebGPU proves (the
 * first uploads the key's bases) with the same r and s.
 */
export async function proveRung(context: LadderContext, log2n: number): Promise<RungOutcome> {
  const { gpu, native, rng } = context;
  const base = join(context.workDir, `mulchain-${log2n}`);
  const paths = { r1cs: `${base}.r1cs`, wtns: `${base}.wtns`, zkey: `${base}.zkey` };
  try {
    const circuit = await timed(async () => {
      const made = syntheticCircuit(stepsForDomain(log2n), rng.below(BN254_R), rng.below(BN254_R));
      await writeFile(paths.r1cs, made.r1cs);
      await writeFile(paths.wtns, made.wtns);
      return made;
    });
    const setupStages: Record<string, number> = {};
    const setup = await timed(() =>
      devSetup({
        r1csPath: paths.r1cs,
        zkeyPath: paths.zkey,
        progress: (stage) => {
          setupStages[stage.stage] = round(stage.duration_ms);
        },
      }),
    );
    const read = await timed(async () => ({ zkey: await readZkey(paths.zkey), witness: await readWtns(paths.wtns) }));
    const { zkey, witness } = read.value;
    const r = rng.below(BN254_R);
    const s = rng.below(BN254_R);
    const proveOn = async (backend: ProverBackend) => {
      const draws = [r, s];
      const times = stageTimes();
      const run = await timed(() => prove(zkey, witness, { backend, random: () => draws.shift()!, progress: times.progress }));
      return { ms: run.ms, stages: times.stages, result: run.value };
    };
    const baseline = await proveOn(native);
    const webgpu = [await proveOn(gpu), await proveOn(gpu)];
    await (await gpu.loadCircuit(zkey.bases)).release();

    const key = prepareVerifyingKey(verificationKeyOfZkey(zkey));
    const verifies = (result: ProveResult) => key.verify(result.publicSignals, result.proof);
    const tampered = [...baseline.result.publicSignals];
    tampered[0] = ((BigInt(tampered[0]!) + 1n) % BN254_R).toString();
    const sameProof = (result: ProveResult) => JSON.stringify(result) === JSON.stringify(baseline.result);
    const checks = {
      native_verifies: verifies(baseline.result),
      webgpu_verifies: webgpu.every((run) => verifies(run.result)),
      webgpu_equals_native: webgpu.every((run) => sameProof(run.result)),
      tampered_signal_refused: !key.verify(tampered, baseline.result.proof),
    };
    return {
      matched: Object.values(checks).every(Boolean),
      results: {
        constraints: circuit.value.nConstraints,
        wires: circuit.value.nWires,
        circuit_ms: circuit.ms,
        setup_ms: setup.ms,
        setup_stages_ms: setupStages,
        read_ms: read.ms,
        native_ms: baseline.ms,
        native_stages_ms: baseline.stages,
        webgpu_ms: webgpu.map((run) => run.ms),
        webgpu_stages_ms: webgpu.map((run) => run.stages),
        native_over_webgpu_warm: round(baseline.ms / webgpu[1]!.ms),
        checks,
      },
    };
  } finally {
    await Promise.all(Object.values(paths).map((path) => rm(path, { force: true })));
  }
}
