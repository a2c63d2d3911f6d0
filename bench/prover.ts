/**
 * Whole-proof benchmark: snarkjs.groth16.prove itself (the baseline) against
 * our prover on each requested backend, in one process, on the cached bench
 * circuit (a multiplication chain filling a 2^log2n domain). Every proof is
 * verified with snarkjs. Prints a ratio table and writes
 * bench/results/prover-<host>.json and .md (latest at the top, every run
 * also under bench/results/<date>/).
 *
 *   npm run bench:prover [-- --log2n 16] [--backends native,webgpu] [--runs 2] [--seed N]
 *
 * Timings include reading the zkey and witness files, as snarkjs's do. A
 * backend's first run also uploads its resident bases (loadCircuit); "best"
 * is the fastest of the runs.
 */
import { readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { benchCircuitSpec, buildCircuit } from '../scripts/build-circuits.ts';
import { releaseCurve, snarkjs } from '../src/prover/ffjs.ts';
import { prove } from '../src/prover/groth16.ts';
import { BN254_R } from '../src/prover/io/bn254.ts';
import { Prng } from '../src/random/prng.ts';
import { testSeed } from '../src/random/seed.ts';
import { readWtns } from '../src/prover/io/wtns.ts';
import { readZkey, type Groth16Zkey } from '../src/prover/io/zkey.ts';
import { verifyProof } from '../src/prover/prove-files.ts';
import { openBackend } from '../src/prover/select-backend.ts';
import { backendNames as registeredBackends } from '../src/prover/backends/index.ts';
import { BenchCli } from './lib/cli.ts';
import { writeResults } from './lib/results.ts';

interface Row {
  prover: string;
  device: string;
  runs_ms: number[];
  best_ms: number;
  /** snarkjs best_ms / this best_ms. */
  speedup: number;
  verified: boolean;
  /** Per-stage wall time of the best run (our prover only). */
  stages_ms?: Record<string, number>;
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

export const PROVER_BENCH_USAGE = `usage: npm run bench:prover -- [--log2n N] [--backends LIST] [--runs N] [--seed S]

A whole Groth16 proof of the bench circuit (a multiplication chain filling a
2^N domain; built once and cached under circuits/) with snarkjs (the baseline)
and with each listed backend, in one process; every proof is verified with
snarkjs. Writes bench/results/prover-<host>.json and .md.

  --log2n N        domain size 2^N, 4 to 22 (default 16; the first build at 16
                   makes a Powers of Tau, tens of minutes on 2 cores)
  --backends LIST  comma-separated, of ${registeredBackends()
    .filter((name) => name !== 'snarkjs')
    .join(', ')} (default native;
                   snarkjs always runs, as the baseline)
  --runs N         runs of each prover; the best counts (default 2)
  --seed S         the witness inputs' seed, to reproduce a run (default ZKP_TEST_SEED, else random; logged)
  --help           this text`;

export async function runProverBench(argv: string[]): Promise<Row[]> {
  const cli = new BenchCli(
    'bench:prover',
    PROVER_BENCH_USAGE,
    { log2n: { type: 'string' }, backends: { type: 'string' }, runs: { type: 'string' }, seed: { type: 'string' } },
    argv,
  );
  const log2n = cli.int('log2n', 16, 4, 22);
  const runs = cli.int('runs', 2, 1);
  const backendNames = cli.list('backends', ['native'], registeredBackends()).filter((name) => name !== 'snarkjs');
  const seedText = cli.string('seed');
  if (seedText !== undefined && !(/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(seedText.trim()) && Number.isSafeInteger(Number(seedText.trim()))))
    cli.fail(`--seed needs a non-negative integer below 2^53, got ${JSON.stringify(seedText)}`);
  // The witness inputs' seed: --seed, else ZKP_TEST_SEED, else drawn; logged by testSeed and written in the report.
  const seed = seedText !== undefined ? Number(seedText.trim()) : testSeed('bench:prover');
  const say = (line: string) => process.stderr.write(`${line}\n`);

  say(`bench:prover log2n=${log2n} runs=${runs} backends=snarkjs(baseline),${backendNames.join(',')} seed=${seed}`);
  const circuit = await buildCircuit(benchCircuitSpec(log2n), say);
  say(`circuit ${circuit.name}: ${circuit.nConstraints} constraints, domain 2^${circuit.power}`);
  const vkey = JSON.parse(await readFile(circuit.vkey, 'utf8')) as unknown;
  checkBasesNotDegenerate(await readZkey(circuit.zkey));

  const sj = await snarkjs();
  const rng = new Prng(seed);
  const field = (): bigint => rng.below(BN254_R);
  const wtnsPath = join(tmpdir(), `zkp-bench-${process.pid}.wtns`);
  await sj.wtns.calculate({ a: field().toString(), b: field().toString() }, circuit.wasm, wtnsPath);

  const rows: Row[] = [];
  try {
    const baselineRuns: number[] = [];
    let baselineVerified = true;
    for (let run = 0; run < runs; run++) {
      const started_ms = performance.now();
      const { proof, publicSignals } = await sj.groth16.prove(circuit.zkey, wtnsPath);
      baselineRuns.push(performance.now() - started_ms);
      baselineVerified &&= await verifyProof(vkey, publicSignals, proof);
      say(`  snarkjs run ${run + 1}: ${baselineRuns.at(-1)!.toFixed(0)} ms`);
    }
    const baselineBest = Math.min(...baselineRuns);
    rows.push({
      prover: 'snarkjs.groth16.prove',
      device: 'snarkjs 0.7 (ffjavascript WASM)',
      runs_ms: baselineRuns,
      best_ms: baselineBest,
      speedup: 1,
      verified: baselineVerified,
    });

    for (const name of backendNames) {
      const backend = await openBackend(name);
      try {
        const runsMs: number[] = [];
        let verified = true;
        let bestStages: Record<string, number> = {};
        for (let run = 0; run < runs; run++) {
          const stages: Record<string, number> = {};
          const started_ms = performance.now();
          const zkey = await readZkey(circuit.zkey);
          const witness = await readWtns(wtnsPath);
          const result = await prove(zkey, witness, {
            backend,
            progress: (event) => {
              if (event.phase === 'end') stages[event.stage] = Math.round(event.duration_ms ?? 0);
            },
          });
          const elapsed_ms = performance.now() - started_ms;
          if (runsMs.length === 0 || elapsed_ms < Math.min(...runsMs)) bestStages = stages;
          runsMs.push(elapsed_ms);
          verified &&= await verifyProof(vkey, result.publicSignals, result.proof);
          say(`  ${name} run ${run + 1}: ${elapsed_ms.toFixed(0)} ms ${JSON.stringify(stages)}`);
        }
        const best = Math.min(...runsMs);
        rows.push({
          prover: `zkp ${name}`,
          device: backend.describe(),
          runs_ms: runsMs,
          best_ms: best,
          speedup: baselineBest / best,
          verified,
          stages_ms: bestStages,
        });
      } finally {
        await backend.close();
      }
    }
  } finally {
    await rm(wtnsPath, { force: true });
  }

  const host = hostname();
  const report = {
    benchmark: 'prover',
    host,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    load_average_1m_at_end: loadavg()[0],
    node: process.version,
    log2n,
    constraints: circuit.nConstraints,
    runs,
    seed: seed.toString(),
    date: new Date().toISOString(),
    rows: rows.map((row) => ({
      ...row,
      runs_ms: row.runs_ms.map((ms) => Math.round(ms)),
      best_ms: Math.round(row.best_ms),
      speedup: Number(row.speedup.toFixed(2)),
    })),
  };
  const table = [
    `| prover | device | best ms | runs ms | speed-up vs snarkjs | verified |`,
    `|---|---|---:|---|---:|---|`,
    ...report.rows.map(
      (row) => `| ${row.prover} | ${row.device} | ${row.best_ms} | ${row.runs_ms.join(', ')} | ${row.speedup.toFixed(2)}x | ${row.verified ? 'yes' : 'NO'} |`,
    ),
  ].join('\n');
  const markdown = `# Prover benchmark on ${host}\n\nGroth16 proof of a ${circuit.nConstraints}-constraint circuit (domain 2^${log2n}), ${report.cpus} CPUs (${report.cpu_model}), Node ${process.version}, ${report.date}.\nCommand: \`npm run bench:prover -- --log2n ${log2n} --runs ${runs} --backends ${backendNames.join(',')} --seed ${seed}\`\n\n${table}\n\nStages of the best run (ms): ${report.rows
    .filter((row) => row.stages_ms)
    .map((row) => `${row.prover} ${JSON.stringify(row.stages_ms)}`)
    .join('; ')}\n`;
  writeResults(`prover-${host}`, { json: `${JSON.stringify(report, null, 2)}\n`, md: markdown });
  console.log(table);
  if (!rows.every((row) => row.verified)) throw new Error('a proof did not verify');
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
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
