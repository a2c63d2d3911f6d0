/**
 * The measurements of `npm run bench` (bench/run.ts): for each rung and
 * circuit family, build the circuit (cached), time its witness, then for each
 * backend in turn time `samples` cold proves (whole processes, peak RSS
 * polled by measured-process.ts) and `samples` warm proves (the key resident
 * in this process, after one untimed warm-up prove). Every proof is verified
 * (src/prover/prove-files.ts verifyProof). A backend that does not open here,
 * or a rung above a slow backend's size cap, is recorded as skipped with the
 * reason; a prover that fails is recorded as failed and the run goes on.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BuiltCircuit, readR1csHeader } from '../../scripts/build-circuits.ts';
import type { BackendName, CircuitInfo, GpuInfo } from '../../src/bench-report/schema.ts';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { prove } from '../../src/prover/groth16.ts';
import { parseWtns } from '../../src/prover/io/wtns.ts';
import { type Groth16Zkey, parseZkey } from '../../src/prover/io/zkey.ts';
import { verifyProof } from '../../src/prover/prove-files.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { prepareWitnessCalculator } from '../../src/prover/witness.ts';
import { PACKAGE_ROOT } from '../../src/runtime/package-root.ts';
import { Prng } from '../../src/random/prng.ts';
import { buildLadderCircuit, LADDER_LOG2_MIN, type LadderCircuit, ladderCircuit } from './ladder-circuits.ts';
import { type LadderBackend, type LadderOptions, SIZE_CAPS } from './ladder-flags.ts';
import type { MeasuredRun } from './ladder-report.ts';
import type { LadderProgress } from './ladder-progress.ts';
import { runMeasured } from './measured-process.ts';
import { peerFailure, type ProverPeer } from './prover-peers.ts';

const ZKP_BIN = join(PACKAGE_ROOT, 'bin', 'zkp.js');
const SNARKJS_CLI = join(PACKAGE_ROOT, 'node_modules', 'snarkjs', 'build', 'cli.cjs');
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

export interface LadderResult {
  readonly circuits: CircuitInfo[];
  readonly measured: MeasuredRun[];
}

/** A prover of the run: one of ours, or a peer binary. */
type Contender = { readonly kind: 'ours'; readonly backend: LadderBackend } | { readonly kind: 'peer'; readonly peer: ProverPeer };

function nameOf(contender: Contender): BackendName {
  return contender.kind === 'ours' ? contender.backend : `peer:${contender.peer.name}`;
}

/** The whole-process command that proves `zkey` + `wtns` into `proof` + `pub`. */
function coldCommand(contender: Contender, files: readonly [string, string, string, string]): [string, string[]] {
  if (contender.kind === 'peer') return [contender.peer.path, [...files]];
  if (contender.backend === 'snarkjs') return [process.execPath, [SNARKJS_CLI, 'groth16', 'prove', ...files]];
  // Verification is timed by no one here: every prover's proof is checked afterwards, alike.
  return [process.execPath, [ZKP_BIN, 'prove', ...files, '--backend', contender.backend, '--quiet', '--no-verify']];
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** Backends opened once for the whole run (a WebGPU device and its shaders are slow to make). */
class BackendPool {
  private readonly open = new Map<string, Promise<ProverBackend>>();

  get(name: 'native' | 'webgpu'): Promise<ProverBackend> {
    let backend = this.open.get(name);
    if (backend === undefined) {
      backend = openBackend(name);
      this.open.set(name, backend);
    }
    return backend;
  }

  async close(): Promise<void> {
    for (const backend of this.open.values()) await backend.then((opened) => opened.close()).catch(() => {});
  }
}

export async function runLadder(
  options: LadderOptions,
  seed: number,
  gpu: { info: GpuInfo | null; reason: string },
  progress: LadderProgress,
): Promise<LadderResult> {
  const rng = new Prng(seed);
  const circuits: LadderCircuit[] = [];
  for (const log2 of options.log2s)
    for (const family of options.families) {
      const circuit = ladderCircuit(family, log2);
      if ('skipped' in circuit) progress.say(`${family}-${log2}: no circuit: ${circuit.skipped}`);
      else circuits.push(circuit);
    }
  const contenders: Contender[] = [
    ...options.backends.map((backend) => ({ kind: 'ours', backend }) as const),
    ...options.peers.map((peer) => ({ kind: 'peer', peer }) as const),
  ];
  const stepsOf = (contender: Contender) => options.samples * (contender.kind === 'peer' ? 1 : 2);
  const perCircuit = 2 + contenders.reduce((sum, contender) => sum + stepsOf(contender), 0);
  let total = circuits.length * perCircuit;
  progress.setTotal(total);

  const pool = new BackendPool();
  const work = await mkdtemp(join(tmpdir(), 'zkp-bench-ladder-'));
  const result: LadderResult = { circuits: [], measured: [] };
  try {
    for (const circuit of circuits) {
      progress.begin(`${circuit.name}: build`);
      const built = await buildLadderCircuit(circuit, (line) => progress.say(`  ${line.trim()}`));
      progress.step();
      const header = await readR1csHeader(built.r1cs);
      result.circuits.push({
        name: circuit.name,
        family: circuit.family,
        constraints: built.nConstraints,
        domain_log2: built.power,
        public_signals: built.nPublic,
        wires: header.nWires,
        zkey_bytes: (await stat(built.zkey)).size,
      });
      progress.say(`${circuit.name}: ${circuit.description}: ${built.nConstraints} constraints, domain 2^${built.power}`);

      progress.begin(`${circuit.name}: witness x${options.samples}`);
      const wtnsPath = join(work, `${circuit.name}.wtns`);
      const witness_ms = await timeWitness(circuit, built, rng, options.samples, wtnsPath);
      progress.step();
      progress.say(`  witness: median ${median(witness_ms).toFixed(1)} ms`);

      const vkey = JSON.parse(await readFile(built.vkey, 'utf8')) as unknown;
      const zkeyBytes = await readFile(built.zkey);
      const wtnsBytes = await readFile(wtnsPath);
      for (const contender of contenders) {
        const name = nameOf(contender);
        const skipped = skipReason(contender, built.power, options, gpu);
        const base = { circuit: circuit.name, backend: name, witness_ms, peak_rss_bytes: null, verified: false };
        if (skipped !== null) {
          total -= stepsOf(contender);
          progress.setTotal(total);
          progress.say(`  ${name}: skipped: ${skipped}`);
          result.measured.push({ ...base, status: 'skipped', reason: skipped, cold_ms: [], warm_ms: [] });
          continue;
        }
        const measured = await measureContender(
          contender,
          circuit.name,
          built.zkey,
          wtnsPath,
          zkeyBytes,
          wtnsBytes,
          vkey,
          options.samples,
          work,
          pool,
          progress,
        );
        if (measured.status !== 'ok') {
          total -= stepsOf(contender) - measured.stepsDone;
          progress.setTotal(total);
        }
        result.measured.push({ ...base, ...measured });
      }
    }
  } finally {
    await pool.close();
    await rm(work, { recursive: true, force: true });
  }
  return result;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** Witness times of `samples` calculations (after one untimed, which warms the compiled wasm); writes the witness to `wtnsPath`. */
async function timeWitness(circuit: LadderCircuit, built: BuiltCircuit, rng: Prng, samples: number, wtnsPath: string): Promise<number[]> {
  const calculator = await prepareWitnessCalculator(await readFile(built.wasm));
  const symText = await readFile(built.sym, 'utf8');
  const input = circuit.input(rng);
  const runOptions = { inputLabel: `${circuit.name} random input`, symText };
  await writeFile(wtnsPath, calculator.calculateWtns(input, runOptions));
  const samples_ms: number[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const started_ms = performance.now();
    calculator.calculateWtns(input, runOptions);
    samples_ms.push(performance.now() - started_ms);
  }
  return samples_ms;
}

function skipReason(contender: Contender, power: number, options: LadderOptions, gpu: { info: GpuInfo | null; reason: string }): string | null {
  if (contender.kind === 'peer') return null;
  const cap = options.caps;
  const lift = options.full ? '--all-sizes lifts it' : '--full raises it, --all-sizes lifts it';
  if (contender.backend === 'snarkjs' && cap !== null && power > cap.snarkjs)
    return `2^${power} is above snarkjs's size cap of this run, 2^${cap.snarkjs} (${lift})`;
  if (contender.backend === 'webgpu') {
    if (gpu.info === null) return gpu.reason;
    if (gpu.info.is_software && cap !== null && power > cap.webgpuSoftware) {
      const why = `${gpu.info.description} is a software adapter, whose shader compilation on first dispatch takes minutes per process`;
      return cap.webgpuSoftware < LADDER_LOG2_MIN
        ? `${why}; not run by default (--full runs it up to 2^${SIZE_CAPS.full.webgpuSoftware}, --all-sizes on every rung)`
        : `2^${power} is above this run's size cap for it, 2^${cap.webgpuSoftware}: ${why} (${lift})`;
    }
  }
  return null;
}

interface ContenderResult {
  readonly status: 'ok' | 'skipped' | 'failed';
  readonly reason: string;
  readonly cold_ms: number[];
  readonly warm_ms: number[];
  readonly peak_rss_bytes: number | null;
  readonly verified: boolean;
  readonly stepsDone: number;
}

async function measureContender(
  contender: Contender,
  circuitName: string,
  zkeyPath: string,
  wtnsPath: string,
  zkeyBytes: Uint8Array,
  wtnsBytes: Uint8Array,
  vkey: unknown,
  samples: number,
  work: string,
  pool: BackendPool,
  progress: LadderProgress,
): Promise<ContenderResult> {
  const name = nameOf(contender);
  const cold_ms: number[] = [];
  const warm_ms: number[] = [];
  let peak: number | null = null;
  let verified = true;
  let stepsDone = 0;
  const fail = (status: 'failed' | 'skipped', reason: string): ContenderResult => {
    progress.say(`  ${name}: ${status}: ${reason}`);
    return { status, reason, cold_ms: [], warm_ms: [], peak_rss_bytes: null, verified: false, stepsDone };
  };

  // Warm first for our backends: opening one (a WebGPU device) says at once whether it exists here.
  if (contender.kind === 'ours') {
    let proveOnce: () => Promise<{ proof: unknown; publicSignals: unknown }>;
    if (contender.backend === 'snarkjs') {
      const sj = await snarkjs();
      // The zkey and witness in memory: snarkjs parses the sections from the buffer each prove, which is as resident as its API allows.
      proveOnce = () => sj.groth16.prove(zkeyBytes, wtnsBytes);
    } else {
      let backend: ProverBackend;
      try {
        backend = await pool.get(contender.backend);
      } catch (error) {
        return fail('skipped', errorLine(error));
      }
      const zkey: Groth16Zkey = parseZkey(zkeyBytes, zkeyPath);
      proveOnce = () => prove(zkey, parseWtns(wtnsBytes, wtnsPath), { backend });
    }
    try {
      await proveOnce();
      for (let sample = 1; sample <= samples; sample++) {
        progress.begin(`${circuitName} ${name} warm ${sample}/${samples}`);
        const started_ms = performance.now();
        const { proof, publicSignals } = await proveOnce();
        warm_ms.push(performance.now() - started_ms);
        verified &&= await verifyProof(vkey, publicSignals, proof);
        progress.step();
        stepsDone++;
      }
    } catch (error) {
      return fail('failed', `warm prove: ${errorLine(error)}`);
    }
  }

  for (let sample = 1; sample <= samples; sample++) {
    progress.begin(`${circuitName} ${name} cold ${sample}/${samples}`);
    const proofPath = join(work, 'proof.json');
    const publicPath = join(work, 'public.json');
    await rm(proofPath, { force: true });
    await rm(publicPath, { force: true });
    const [command, args] = coldCommand(contender, [zkeyPath, wtnsPath, proofPath, publicPath]);
    let measured: Awaited<ReturnType<typeof runMeasured>>;
    try {
      measured = await runMeasured(command, args, { cwd: PACKAGE_ROOT, timeout_ms: CHILD_TIMEOUT_MS });
    } catch (error) {
      return fail('failed', errorLine(error));
    }
    if (measured.exitCode !== 0) return fail('failed', peerFailure(name, measured.exitCode, measured.signal, measured.stderrTail));
    try {
      const proof = JSON.parse(await readFile(proofPath, 'utf8')) as unknown;
      const publicSignals = JSON.parse(await readFile(publicPath, 'utf8')) as unknown;
      verified &&= await verifyProof(vkey, publicSignals, proof);
    } catch (error) {
      return fail('failed', `exited 0 but left no proof that could be checked: ${errorLine(error)}`);
    }
    cold_ms.push(measured.wall_ms);
    if (measured.peakRss_bytes !== null) peak = Math.max(peak ?? 0, measured.peakRss_bytes);
    progress.step();
    stepsDone++;
  }
  const summary = `cold median ${median(cold_ms).toFixed(0)} ms${warm_ms.length > 0 ? `, warm median ${median(warm_ms).toFixed(0)} ms` : ''}`;
  progress.say(`  ${name}: ${summary}${verified ? '' : ', a proof did NOT verify'}`);
  return { status: 'ok', reason: verified ? '' : 'a proof did not verify', cold_ms, warm_ms, peak_rss_bytes: peak, verified, stepsDone };
}
