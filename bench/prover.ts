/**
 * Whole-proof benchmark, side by side in one run on one circuit (the cached
 * bench circuit: a multiplication chain filling a 2^log2n domain):
 *
 * - whole process, each run a fresh process, wall time and peak RSS:
 *   every `--peer name=path` (any binary with rapidsnark's argument order
 *   `<zkey> <wtns> <proof.json> <public.json>`), `node bin/zkp.js prove
 *   --backend native` and `snarkjs groth16 prove` (its CLI);
 * - in this process: snarkjs.groth16.prove, and our prover on each requested
 *   backend reading the zkey every run, then with the key resident (read and
 *   loaded once, then witness in, proof out: what a worker does).
 *
 * Whole-process runs go round-robin (run 1 of each, then run 2 ...) so a
 * change of load on the machine hits every prover alike. Every proof is
 * verified (src/prover/prove-files.ts verifyProof: the native verifier when
 * the addon is built, else snarkjs). Min and median of the runs are
 * reported; ratios use medians, except peak RSS, which uses the largest
 * peak over the runs. Peak RSS is VmHWM polled from /proc (see
 * bench/lib/measured-process.ts). Writes bench/results/prover-<host>.json and
 * .md (latest at the top, every run also under bench/results/<date>/).
 *
 * Without a Powers of Tau cached for 2^log2n, the bench circuit gets an
 * INSECURE development key (bench/lib/dev-key-circuit.ts) instead of a
 * Powers of Tau that takes tens of minutes on 2 cores.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, getPriority, hostname, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type BuiltCircuit, benchCircuitSpec, buildCircuit, TEST_CIRCUITS } from '../scripts/build-circuits.ts';
import { distStaleness } from '../scripts/build-dist.ts';
import { releaseCurve, snarkjs } from '../src/prover/ffjs.ts';
import { prove } from '../src/prover/groth16.ts';
import { BN254_R } from '../src/prover/io/bn254.ts';
import { Prng } from '../src/random/prng.ts';
import { testSeed } from '../src/random/seed.ts';
import { readWtns } from '../src/prover/io/wtns.ts';
import { readZkey, type Groth16Zkey } from '../src/prover/io/zkey.ts';
import { verifyProof } from '../src/prover/prove-files.ts';
import { parseTimings } from '../src/prover/stage-timings.ts';
import { openBackend } from '../src/prover/select-backend.ts';
import { backendNames as registeredBackends } from '../src/prover/backends/index.ts';
import { BenchCli } from './lib/cli.ts';
import { buildDevKeyBenchCircuit, buildSyntheticBenchCircuit, ptauIsCached } from './lib/dev-key-circuit.ts';
import { killLiveChildren, runMeasured } from './lib/measured-process.ts';
import { parsePeers, peerFailure, type ProverPeer } from './lib/prover-peers.ts';
import { writeResults } from './lib/results.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ZKP_BIN = join(ROOT, 'bin', 'zkp.js');
const SNARKJS_CLI = join(ROOT, 'node_modules', 'snarkjs', 'build', 'cli.cjs');
const CHILD_TIMEOUT_MS = 10 * 60 * 1000;
const MB = 1024 * 1024;

type RowKind = 'whole process' | 'in process' | 'in process, key resident';

interface Row {
  prover: string;
  kind: RowKind;
  device: string;
  runs_ms: number[];
  min_ms: number;
  median_ms: number;
  /** Largest peak RSS over the runs (whole-process rows only), MB. */
  peak_rss_mb?: number;
  /** snarkjs's median of the same kind (whole process or in process) / this median. */
  speedup_vs_snarkjs?: number;
  verified: boolean;
  /** Per-stage wall time of the fastest run (our in-process prover only). */
  stages_ms?: Record<string, number>;
}

interface Ratio {
  /** What is compared, e.g. "zkp prove --backend native (whole process) / rapidsnark wall time". */
  readonly what: string;
  readonly value: number;
  readonly target: number;
  readonly met: boolean;
}

/** A whole-process prover: the command line that proves `zkey`+`wtns` into `proof`+`pub`. */
interface ProcessProver {
  readonly name: string;
  readonly device: string;
  readonly command: (zkey: string, wtns: string, proof: string, pub: string) => readonly [string, ...string[]];
  /** Prints `--timings` lines (src/prover/stage-timings.ts) on stderr. */
  readonly reportsTimings?: boolean;
}

/**
 * A zkey made from a Powers of Tau without any contribution (tau = 1) has
 * almost all of its A bases at infinity, which makes MSMs trivially fast and
 * the benchmark meaningless; refuse to time such a key.
 */
function checkBasesNotDegenerate(zkey: Groth16Zkey): void {
  let infinity = 0;
  for (let point = 0; point < zkey.nVars; point++) {
    if (zkey.bases.A.subarray(point * 64, point * 64 + 64).every((byte) => byte === 0)) infinity++;
  }
  if (infinity * 2 > zkey.nVars) {
    throw new Error(
      `${zkey.label}: ${infinity} of ${zkey.nVars} A bases are the point at infinity (a ptau without contribution?); delete circuits/build/${zkey.label.split('/').at(-2) ?? ''} and circuits/cache/pot*_final.ptau and rerun`,
    );
  }
}

/**
 * This process's scheduler autogroup (Linux with CONFIG_SCHED_AUTOGROUP), e.g.
 * "/autogroup-418 nice -10": with autogroups on, a process's niceness counts
 * only against its own session, and sessions share the CPUs by their
 * autogroup's nice; null where the file is absent.
 */
function autogroup(): string | null {
  try {
    return readFileSync('/proc/self/autogroup', 'utf8').trim();
  } catch {
    return null;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const PROVER_BENCH_USAGE = `usage: npm run bench:prover -- [--log2n N] [--backends LIST] [--runs N] [--peer NAME=PATH ...] [--seed S] [--no-snarkjs] [--no-circom] [--quick] [--out DIR]

Whole Groth16 proofs of the bench circuit (a multiplication chain filling a
2^N domain; built once and cached under circuits/), side by side in one run:
each --peer, \`node bin/zkp.js prove --backend native\` and \`snarkjs groth16
prove\` as whole processes (wall time and peak RSS), then snarkjs and our
prover on each listed backend in this process, reading the zkey each run and
with the key resident. Every proof is verified. Writes
bench/results/prover-<host>.json and .md, with the ratios ours/peer against
the targets of issue 16.

  --log2n N          domain size 2^N, 4 to 22 (default 16; without a cached
                     Powers of Tau the circuit gets an INSECURE development key)
  --backends LIST    comma-separated, of ${registeredBackends()
    .filter((name) => name !== 'snarkjs')
    .join(', ')} (default native;
                     snarkjs runs too, as the baseline, unless --no-snarkjs)
  --runs N           runs of each prover; min and median are reported (default 5)
  --peer NAME=PATH   a prover to compare with, called as
                     PATH <circuit.zkey> <witness.wtns> <proof.json> <public.json>
                     (rapidsnark's order); may be given more than once
  --seed S           the witness inputs' seed, to reproduce a run (default ZKP_TEST_SEED, else random; logged)
  --no-snarkjs       leave snarkjs out (its proves take minutes each from 2^19
                     up): no "vs snarkjs" column; the peer ratios are unchanged
  --no-circom        write the bench circuit's .r1cs and witness in TypeScript
                     (bench/device/synthetic-circuit.ts, byte for byte circom's)
                     instead of compiling it (circom2 needs over 20 CPU
                     minutes for 2^20 here); always an INSECURE development key
  --quick            the small test circuit (mulchain) and 2 runs unless --runs: a
                     smoke test of the plumbing; writes no report unless --out
  --out DIR          write prover-<host>.json and .md into DIR instead of bench/results
  --help             this text`;

export interface ProverBenchReport {
  readonly rows: Row[];
  readonly ratios: Record<string, Ratio[]>;
  readonly [key: string]: unknown;
}

export async function runProverBench(argv: string[]): Promise<ProverBenchReport> {
  const cli = new BenchCli(
    'bench:prover',
    PROVER_BENCH_USAGE,
    {
      log2n: { type: 'string' },
      backends: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      peer: { type: 'string', multiple: true },
      quick: { type: 'boolean' },
      'no-snarkjs': { type: 'boolean' },
      'no-circom': { type: 'boolean' },
      out: { type: 'string' },
    },
    argv,
  );
  const quick = cli.boolean('quick');
  if (quick && cli.string('log2n') !== undefined) cli.fail('--quick uses the small test circuit; leave out --log2n');
  const log2n = cli.int('log2n', 16, 4, 22);
  const runs = cli.int('runs', quick ? 2 : 5, 1);
  const backendNames = cli.list('backends', ['native'], registeredBackends()).filter((name) => name !== 'snarkjs');
  const outDir = cli.string('out');
  const withSnarkjs = !cli.boolean('no-snarkjs');
  const withCircom = !cli.boolean('no-circom');
  if (quick && !withCircom) cli.fail('--quick uses the small test circuit, compiled by circom; leave out --no-circom');
  const seedText = cli.string('seed');
  if (seedText !== undefined && !(/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(seedText.trim()) && Number.isSafeInteger(Number(seedText.trim()))))
    cli.fail(`--seed needs a non-negative integer below 2^53, got ${JSON.stringify(seedText)}`);
  let peers: ProverPeer[] = [];
  try {
    peers = parsePeers(cli.strings('peer'));
  } catch (error) {
    cli.fail(error instanceof Error ? error.message : String(error));
  }
  // bin/zkp.js runs dist/: timing a copy older than the sources would time other code. Under
  // vitest the global set-up has just built it (as scripts/build-dist.ts compiledEntry allows).
  const stale = process.env.VITEST === undefined ? distStaleness() : null;
  if (stale !== null) throw new Error(`${stale}; run \`npm run build\` (bin/zkp.js runs dist/)`);
  // The witness inputs' seed: --seed, else ZKP_TEST_SEED, else drawn; logged by testSeed and written in the report.
  const seed = seedText !== undefined ? Number(seedText.trim()) : testSeed('bench:prover');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const loadAtStart = loadavg();

  say(
    `bench:prover ${quick ? 'quick (mulchain)' : `log2n=${log2n}`} runs=${runs} peers=${peers.map((peer) => peer.name).join(',') || 'none'} backends=${backendNames.join(',')}${withSnarkjs ? '' : ' (no snarkjs)'} seed=${seed}`,
  );
  const { circuit, key, writeWitness } = await benchCircuit(quick, withCircom, log2n, say);
  say(`circuit ${circuit.name}: ${circuit.nConstraints} constraints, domain 2^${circuit.power}, ${key}`);
  const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
  checkBasesNotDegenerate(await readZkey(circuit.zkey));

  const rng = new Prng(seed);
  const field = (): bigint => rng.below(BN254_R);
  const work = await mkdtemp(join(tmpdir(), 'zkp-bench-prover-'));
  const wtnsPath = join(work, 'witness.wtns');
  await writeWitness(field(), field(), wtnsPath);

  const rows: Row[] = [];
  try {
    const processProvers: ProcessProver[] = [
      ...peers.map((peer) => ({
        name: peer.name,
        device: `peer ${peer.path}`,
        command: (...files: [string, string, string, string]) => [peer.path, ...files] as const,
      })),
      {
        name: 'zkp prove --backend native',
        device: 'node bin/zkp.js',
        command: (...files: [string, string, string, string]) =>
          [process.execPath, ZKP_BIN, 'prove', ...files, '--backend', 'native', '--quiet', '--timings'] as const,
        reportsTimings: true,
      },
      ...(withSnarkjs
        ? [
            {
              name: 'snarkjs groth16 prove',
              device: 'snarkjs CLI (ffjavascript WASM)',
              command: (...files: [string, string, string, string]) => [process.execPath, SNARKJS_CLI, 'groth16', 'prove', ...files] as const,
            },
          ]
        : []),
    ];
    rows.push(...(await runWholeProcesses(processProvers, runs, circuit.zkey, wtnsPath, work, vkey, say)));
    rows.push(...(await runInProcess(backendNames, withSnarkjs, runs, circuit.zkey, wtnsPath, vkey, say)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const kind of ['whole process', 'in process'] as const) {
    const baseline = rows.find((row) => row.kind === kind && row.prover.startsWith('snarkjs'));
    for (const row of rows)
      if (baseline && (row.kind === kind || (kind === 'in process' && row.kind === 'in process, key resident')))
        row.speedup_vs_snarkjs = Number((baseline.median_ms / row.median_ms).toFixed(2));
  }
  const ratios = Object.fromEntries(peers.map((peer) => [peer.name, peerRatios(peer.name, rows)]));

  const host = hostname();
  const command = `npm run bench:prover -- ${quick ? '--quick' : `--log2n ${log2n}`} --runs ${runs} --backends ${backendNames.join(',')}${withSnarkjs ? '' : ' --no-snarkjs'}${withCircom ? '' : ' --no-circom'}${peers.map((peer) => ` --peer ${peer.name}=PATH`).join('')} --seed ${seed}`;
  const report = {
    benchmark: 'prover',
    host,
    command,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    niceness: getPriority(),
    scheduler_autogroup: autogroup(),
    load_average_at_start: loadAtStart.map((value) => Number(value.toFixed(2))),
    load_average_at_end: loadavg().map((value) => Number(value.toFixed(2))),
    node: process.version,
    circuit: circuit.name,
    key,
    log2n: circuit.power,
    constraints: circuit.nConstraints,
    runs,
    seed: seed.toString(),
    peak_rss_method: 'VmHWM of /proc/<pid>/status polled every 2 ms until the process exits (bench/lib/measured-process.ts)',
    date: new Date().toISOString(),
    rows: rows.map((row) => ({
      ...row,
      runs_ms: row.runs_ms.map((ms) => Math.round(ms)),
      min_ms: Math.round(row.min_ms),
      median_ms: Math.round(row.median_ms),
    })),
    ratios,
  };
  const markdown = renderMarkdown(report);
  if (outDir !== undefined) {
    mkdirSync(outDir, { recursive: true });
    await writeFile(join(outDir, `prover-${host}.json`), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(outDir, `prover-${host}.md`), markdown);
  } else if (!quick) {
    writeResults(`prover-${host}`, { json: `${JSON.stringify(report, null, 2)}\n`, md: markdown });
  }
  console.log(markdown);
  if (!rows.every((row) => row.verified)) throw new Error('a proof did not verify');
  return report;
}

interface BenchCircuit {
  readonly circuit: { readonly name: string; readonly zkey: string; readonly vkey: string; readonly nConstraints: number; readonly power: number };
  readonly key: string;
  /** Writes the witness of inputs a and b to a .wtns file. */
  readonly writeWitness: (a: bigint, b: bigint, path: string) => Promise<void>;
}

async function benchCircuit(quick: boolean, withCircom: boolean, log2n: number, say: (line: string) => void): Promise<BenchCircuit> {
  const compiled = (circuit: BuiltCircuit, key: string): BenchCircuit => ({
    circuit,
    key,
    writeWitness: async (a, b, path) => {
      const sj = await snarkjs();
      await sj.wtns.calculate({ a: a.toString(), b: b.toString() }, circuit.wasm, path);
    },
  });
  if (quick) {
    const spec = TEST_CIRCUITS.find((candidate) => candidate.name === 'mulchain');
    if (!spec) throw new Error('scripts/build-circuits.ts has no mulchain test circuit');
    return compiled(await buildCircuit(spec, say), 'zkey from a local Powers of Tau (test circuit)');
  }
  if (!withCircom) {
    const circuit = await buildSyntheticBenchCircuit(log2n, say);
    return {
      circuit,
      key: 'INSECURE development zkey (zkp setup --dev) of the synthetic r1cs (bench/device/synthetic-circuit.ts; no circom)',
      writeWitness: (a, b, path) => writeFile(path, circuit.witness(a, b)),
    };
  }
  if (ptauIsCached(log2n)) return compiled(await buildCircuit(benchCircuitSpec(log2n), say), 'zkey from a local Powers of Tau');
  return compiled(await buildDevKeyBenchCircuit(log2n, say), 'INSECURE development zkey (zkp setup --dev; no Powers of Tau cached)');
}

async function runWholeProcesses(
  provers: readonly ProcessProver[],
  runs: number,
  zkeyPath: string,
  wtnsPath: string,
  work: string,
  vkey: unknown,
  say: (line: string) => void,
): Promise<Row[]> {
  const results = provers.map(() => ({
    runs_ms: [] as number[],
    peaks: [] as number[],
    verified: true,
    bestStages: undefined as Record<string, number> | undefined,
  }));
  for (let run = 0; run < runs; run++) {
    for (const [index, prover] of provers.entries()) {
      const proofPath = join(work, `proof-${index}.json`);
      const publicPath = join(work, `public-${index}.json`);
      await rm(proofPath, { force: true });
      await rm(publicPath, { force: true });
      const [command, ...args] = prover.command(zkeyPath, wtnsPath, proofPath, publicPath);
      const measured = await runMeasured(command, args, { timeout_ms: CHILD_TIMEOUT_MS });
      if (measured.exitCode !== 0) throw new Error(peerFailure(prover.name, measured.exitCode, measured.signal, measured.stderrTail));
      let proof: unknown;
      let publicSignals: unknown;
      try {
        proof = JSON.parse(await readFile(proofPath, 'utf8'));
        publicSignals = JSON.parse(await readFile(publicPath, 'utf8'));
      } catch (error) {
        throw new Error(`${prover.name} exited 0 but left no readable proof.json/public.json (${error instanceof Error ? error.message : String(error)})`);
      }
      const verified = await verifyProof(vkey, publicSignals, proof);
      const result = results[index]!;
      result.verified &&= verified;
      if (prover.reportsTimings && (result.runs_ms.length === 0 || measured.wall_ms < Math.min(...result.runs_ms)))
        result.bestStages = wholeProcessStages(measured.stderrTail, measured.wall_ms);
      result.runs_ms.push(measured.wall_ms);
      if (measured.peakRss_bytes !== null) result.peaks.push(measured.peakRss_bytes);
      const rss = measured.peakRss_bytes === null ? '?' : (measured.peakRss_bytes / MB).toFixed(0);
      say(`  ${prover.name} run ${run + 1}: ${measured.wall_ms.toFixed(0)} ms, peak RSS ${rss} MB${verified ? '' : ', proof does NOT verify'}`);
    }
  }
  return provers.map((prover, index) => {
    const result = results[index]!;
    return {
      prover: prover.name,
      kind: 'whole process',
      device: prover.device,
      runs_ms: result.runs_ms,
      min_ms: Math.min(...result.runs_ms),
      median_ms: median(result.runs_ms),
      ...(result.peaks.length === 0 ? {} : { peak_rss_mb: Math.round(Math.max(...result.peaks) / MB) }),
      verified: result.verified,
      ...(result.bestStages === undefined ? {} : { stages_ms: result.bestStages }),
    };
  });
}

/**
 * A whole-process run's `--timings` report, rounded to 0.1 ms, with what its
 * own clock cannot see: 'outside the process clock' = wall time measured
 * here - the process's total (the exec before node's time origin, the exit
 * after the report).
 */
function wholeProcessStages(stderr: string, wall_ms: number): Record<string, number> | undefined {
  const timings = parseTimings(stderr);
  const total_ms = timings.get('total');
  if (total_ms === undefined) return undefined;
  const stages: Record<string, number> = {};
  for (const [name, ms] of timings) stages[name] = Number(ms.toFixed(1));
  stages['outside the process clock'] = Number((wall_ms - total_ms).toFixed(1));
  stages.wall = Number(wall_ms.toFixed(1));
  return stages;
}

async function runInProcess(
  backendNames: readonly string[],
  withSnarkjs: boolean,
  runs: number,
  zkeyPath: string,
  wtnsPath: string,
  vkey: unknown,
  say: (line: string) => void,
): Promise<Row[]> {
  const rows: Row[] = [];
  const baselineRuns: number[] = [];
  let baselineVerified = true;
  for (let run = 0; withSnarkjs && run < runs; run++) {
    const sj = await snarkjs();
    const started_ms = performance.now();
    const { proof, publicSignals } = await sj.groth16.prove(zkeyPath, wtnsPath);
    baselineRuns.push(performance.now() - started_ms);
    baselineVerified &&= await verifyProof(vkey, publicSignals, proof);
    say(`  snarkjs.groth16.prove run ${run + 1}: ${baselineRuns.at(-1)!.toFixed(0)} ms`);
  }
  if (withSnarkjs) rows.push(timedRow('snarkjs.groth16.prove', 'in process', 'snarkjs 0.7 (ffjavascript WASM)', baselineRuns, baselineVerified));

  for (const name of backendNames) {
    const backend = await openBackend(name);
    try {
      // Reading the zkey every run, as a one-shot prove does.
      const cold = await timeProves(
        runs,
        async (stages) => prove(await readZkey(zkeyPath), await readWtns(wtnsPath), { backend, progress: stages }),
        vkey,
        (line) => say(`  zkp ${name} run ${line}`),
      );
      rows.push({ ...timedRow(`zkp ${name}`, 'in process', backend.describe(), cold.runs_ms, cold.verified), stages_ms: cold.bestStages });
      // The key read and its bases loaded once (a warm-up prove), then witness in, proof out: what a worker does.
      const zkey = await readZkey(zkeyPath);
      await prove(zkey, await readWtns(wtnsPath), { backend });
      const warm = await timeProves(
        runs,
        async (stages) => prove(zkey, await readWtns(wtnsPath), { backend, progress: stages }),
        vkey,
        (line) => say(`  zkp ${name} key resident run ${line}`),
      );
      rows.push({ ...timedRow(`zkp ${name}`, 'in process, key resident', backend.describe(), warm.runs_ms, warm.verified), stages_ms: warm.bestStages });
    } finally {
      await backend.close();
    }
  }
  return rows;
}

type StageRecorder = (event: { stage: string; phase: string; duration_ms?: number }) => void;

async function timeProves(
  runs: number,
  proveOnce: (stages: StageRecorder) => Promise<{ proof: unknown; publicSignals: unknown }>,
  vkey: unknown,
  say: (line: string) => void,
): Promise<{ runs_ms: number[]; verified: boolean; bestStages: Record<string, number> }> {
  const runs_ms: number[] = [];
  let verified = true;
  let bestStages: Record<string, number> = {};
  for (let run = 0; run < runs; run++) {
    const stages: Record<string, number> = {};
    const started_ms = performance.now();
    const result = await proveOnce((event) => {
      if (event.phase === 'end') stages[event.stage] = Math.round(event.duration_ms ?? 0);
    });
    const elapsed_ms = performance.now() - started_ms;
    if (runs_ms.length === 0 || elapsed_ms < Math.min(...runs_ms)) bestStages = stages;
    runs_ms.push(elapsed_ms);
    verified &&= await verifyProof(vkey, result.publicSignals, result.proof);
    say(`${run + 1}: ${elapsed_ms.toFixed(0)} ms ${JSON.stringify(stages)}`);
  }
  return { runs_ms, verified, bestStages };
}

function timedRow(prover: string, kind: RowKind, device: string, runs_ms: number[], verified: boolean): Row {
  return { prover, kind, device, runs_ms, min_ms: Math.min(...runs_ms), median_ms: median(runs_ms), verified };
}

/** Issue 16's targets, ours / the peer's, from one run's rows. */
function peerRatios(peer: string, rows: readonly Row[]): Ratio[] {
  const peerRow = rows.find((row) => row.kind === 'whole process' && row.prover === peer);
  const ours = rows.find((row) => row.kind === 'whole process' && row.prover === 'zkp prove --backend native');
  const warm = rows.find((row) => row.kind === 'in process, key resident' && row.prover === 'zkp native');
  const ratios: Ratio[] = [];
  const add = (what: string, value: number, target: number) => ratios.push({ what, value: Number(value.toFixed(2)), target, met: value <= target });
  if (!peerRow) return ratios;
  if (ours) add(`zkp prove --backend native (whole process) / ${peer} wall time, medians`, ours.median_ms / peerRow.median_ms, 0.8);
  if (warm) add(`zkp native in process, key resident / ${peer} whole-process wall time, medians`, warm.median_ms / peerRow.median_ms, 0.5);
  if (ours?.peak_rss_mb !== undefined && peerRow.peak_rss_mb !== undefined && peerRow.peak_rss_mb > 0)
    add(`zkp prove --backend native peak RSS / ${peer} peak RSS`, ours.peak_rss_mb / peerRow.peak_rss_mb, 1.5);
  return ratios;
}

function renderMarkdown(report: {
  host: string;
  command: string;
  cpus: number;
  cpu_model: string;
  kernel: string;
  niceness: number;
  scheduler_autogroup: string | null;
  load_average_at_start: number[];
  load_average_at_end: number[];
  node: string;
  circuit: string;
  key: string;
  log2n: number;
  constraints: number;
  runs: number;
  peak_rss_method: string;
  date: string;
  rows: Row[];
  ratios: Record<string, Ratio[]>;
}): string {
  const table = [
    '| prover | kind | min ms | median ms | runs ms | peak RSS MB | vs snarkjs (same kind) | verified |',
    '|---|---|---:|---:|---|---:|---:|---|',
    ...report.rows.map(
      (row) =>
        `| ${row.prover} | ${row.kind} | ${row.min_ms} | ${row.median_ms} | ${row.runs_ms.join(', ')} | ${row.peak_rss_mb ?? '—'} | ${row.speedup_vs_snarkjs === undefined ? '—' : `${row.speedup_vs_snarkjs.toFixed(2)}x`} | ${row.verified ? 'yes' : 'NO'} |`,
    ),
  ].join('\n');
  const ratioLines = Object.entries(report.ratios).flatMap(([peer, ratios]) => [
    `\n## Ours / ${peer} (issue 16's targets)\n`,
    '| ratio | value | target | met |',
    '|---|---:|---:|---|',
    ...ratios.map((ratio) => `| ${ratio.what} | ${ratio.value.toFixed(2)}x | <= ${ratio.target}x | ${ratio.met ? 'yes' : 'no'} |`),
  ]);
  const busiest = Math.max(report.load_average_at_start[0] ?? 0, report.load_average_at_end[0] ?? 0);
  const contended =
    busiest > report.cpus
      ? `\n**Contended run**: the 1-minute load average reached ${busiest} on ${report.cpus} CPUs, so other work shared the CPUs with every prover; multi-threaded provers that spin-wait (OpenMP) lose most from that, so compare ratios only with runs under a similar load.\n`
      : '';
  const stages = report.rows
    .filter((row) => row.stages_ms && row.kind !== 'whole process')
    .map((row) => `- ${row.prover} (${row.kind}): ${JSON.stringify(row.stages_ms)}`)
    .join('\n');
  const whole = report.rows.find((row) => row.kind === 'whole process' && row.stages_ms);
  const wall_ms = whole?.stages_ms?.wall;
  const wholeStages =
    whole?.stages_ms && wall_ms !== undefined
      ? [
          `\nWhere the fastest \`${whole.prover}\` run's wall time went (its \`--timings\` report; 'outside the process clock' = wall - the process's own total: the exec before node's time origin and the exit):\n`,
          '| stage | ms | share of wall |',
          '|---|---:|---:|',
          ...Object.entries(whole.stages_ms)
            .filter(([name]) => name !== 'wall' && name !== 'total')
            .map(([name, ms]) => `| ${name} | ${ms.toFixed(1)} | ${((100 * ms) / wall_ms).toFixed(1)}% |`),
          `| **wall** | ${wall_ms.toFixed(1)} | 100% |`,
        ].join('\n')
      : '';
  return `# Prover benchmark on ${report.host}

Groth16 proof of ${report.circuit}, ${report.constraints} constraints (domain 2^${report.log2n}), ${report.key}; ${report.runs} runs of each prover, ${report.date}.
Machine: ${report.cpus} CPUs (${report.cpu_model}), Linux ${report.kernel}, Node ${report.node}, niceness ${report.niceness}${report.scheduler_autogroup === null ? '' : ` (scheduler autogroup: ${report.scheduler_autogroup})`}, load average (1, 5, 15 min) ${report.load_average_at_start.join(' / ')} at the start and ${report.load_average_at_end.join(' / ')} at the end.
Command: \`${report.command}\`
Peak RSS: ${report.peak_rss_method}. Ratios use medians of wall time and the largest peak RSS over the runs.

${table}
${contended}${ratioLines.join('\n')}

${wholeStages}

Stages of the fastest in-process run (ms):
${stages}
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      killLiveChildren();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  runProverBench(process.argv.slice(2))
    .then(async () => {
      await releaseCurve();
      process.exit(0);
    })
    .catch((error: unknown) => {
      process.stderr.write(`bench:prover: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
