/**
 * Witness calculation benchmark: snarkjs's `wtns.calculate` (its own API, in
 * process; what src/prover/witness.ts ran before, through circom_runtime)
 * against our calculator (src/prover/witness/) on the same circom wasm, the
 * bench circuit (a multiplication chain filling a 2^log2n domain; only its
 * wasm is built, no proving key). Every `.wtns` is checked byte for byte
 * against snarkjs's.
 *
 *   npm run bench:witness [-- --log2n 16] [--runs 9] [--cold-runs 5] [--seed N]
 *
 * - cold: the first calculation in a fresh process (a CLI run): snarkjs
 *   compiles the wasm inside wtns.calculate; ours is prepareWitnessCalculator
 *   + calculateWtns. One child process per run; module loading excluded.
 * - warm: repeated calculations in one process after one untimed run (a
 *   worker): snarkjs still compiles the wasm on every call; ours reuses the
 *   prepared calculator.
 * - cli: the whole command as a user runs it, start to exit, `snarkjs wtns
 *   calculate` (its CLI, node_modules/snarkjs/build/cli.cjs) against `node
 *   bin/zkp.js witness` (the compiled code in dist/), same arguments.
 *
 * Every measurement runs in a child process of its own implementation
 * (bench/lib/witness-child.ts): in one process, V8 optimising each module
 * snarkjs compiles, on other threads, and collecting its garbage, slowed the
 * runs of ours that followed. The children alternate (snarkjs, ours, ...;
 * warm runs in two blocks each), so a change in load hits both alike.
 *
 * Reports the median of each and the ratio snarkjs / ours, with the machine's
 * conditions, in bench/results/witness-<host>.json and .md.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { distStaleness } from '../scripts/build-dist.ts';
import { benchCircuitSpec, buildCircuitWasm } from '../scripts/build-circuits.ts';
import { BN254_R } from '../src/prover/io/bn254.ts';
import { prepareWitnessCalculator } from '../src/prover/witness.ts';
import { Prng } from '../src/random/prng.ts';
import { testSeed } from '../src/random/seed.ts';
import { BenchCli } from './lib/cli.ts';
import { writeResults } from './lib/results.ts';
import type { ChildResult, WitnessCase, WitnessImplementation } from './lib/witness-child.ts';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHILD_SCRIPT = join(ROOT, 'bench', 'lib', 'witness-child.ts');

export const WITNESS_BENCH_USAGE = `usage: npm run bench:witness -- [--log2n N] [--runs N] [--cold-runs N] [--cli-runs N] [--seed S]

The witness of the bench circuit (a multiplication chain filling a 2^N
domain; its wasm is built once and cached under circuits/build) from
snarkjs's wtns.calculate and from our calculator, cold (a fresh process per
run) and warm (repeated in one process); medians and the ratio
snarkjs / ours. Writes bench/results/witness-<host>.json and .md.

  --log2n N      domain size 2^N, 4 to 22 (default 16)
  --runs N       warm runs of each implementation (default 9)
  --cold-runs N  cold runs (fresh processes) of each (default 5; 0 skips them)
  --cli-runs N   whole-process runs of \`snarkjs wtns calculate\` and \`zkp witness\`
                 (default 5; 0 skips them)
  --seed S       the inputs' seed, to reproduce a run (default ZKP_TEST_SEED, else random; logged)
  --help         this text`;

interface Measured {
  readonly snarkjs_ms: number[];
  readonly ours_ms: number[];
}

export async function runWitnessBench(argv: string[]): Promise<void> {
  const cli = new BenchCli(
    'bench:witness',
    WITNESS_BENCH_USAGE,
    { log2n: { type: 'string' }, runs: { type: 'string' }, 'cold-runs': { type: 'string' }, 'cli-runs': { type: 'string' }, seed: { type: 'string' } },
    argv,
  );
  const log2n = cli.int('log2n', 16, 4, 22);
  const runs = cli.int('runs', 9, 1);
  const coldRuns = cli.int('cold-runs', 5, 0);
  const cliRuns = cli.int('cli-runs', 5, 0);
  const seedText = cli.string('seed');
  if (seedText !== undefined && !(/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(seedText.trim()) && Number.isSafeInteger(Number(seedText.trim()))))
    cli.fail(`--seed needs a non-negative integer below 2^53, got ${JSON.stringify(seedText)}`);
  const seed = seedText !== undefined ? Number(seedText.trim()) : testSeed('bench:witness');
  const say = (line: string) => process.stderr.write(`${line}\n`);

  const loadavgStart = loadavg();
  say(`bench:witness log2n=${log2n} runs=${runs} cold-runs=${coldRuns} cli-runs=${cliRuns} seed=${seed}; load average ${formatLoad(loadavgStart)}`);
  // bin/zkp.js runs dist/: timing a copy older than the sources would time other code (vitest's set-up builds it).
  const stale = cliRuns > 0 && process.env.VITEST === undefined ? distStaleness() : null;
  if (stale !== null) cli.fail(`${stale}; run \`npm run build\` (bin/zkp.js runs dist/), or pass --cli-runs 0`);
  const built = await buildCircuitWasm(benchCircuitSpec(log2n), say);
  const wasm = new Uint8Array(await readFile(built.wasm));
  const rng = new Prng(seed);
  const input = { a: rng.below(BN254_R).toString(), b: rng.below(BN254_R).toString() };
  // The parent runs no wasm while children are timed; snarkjs's first .wtns is the reference every other one must match.
  let referenceSha: string | null = null;
  const measure = async (kind: WitnessCase, implementation: WitnessImplementation, count: number, into: Measured): Promise<void> => {
    const result = await childRun(implementation, kind, count, built.wasm, input);
    if (implementation === 'snarkjs') referenceSha ??= result.sha256;
    if (result.sha256 !== referenceSha) throw new Error(`${kind} ${implementation}: the .wtns differs from snarkjs's`);
    (implementation === 'snarkjs' ? into.snarkjs_ms : into.ours_ms).push(...result.runs_ms);
    say(`  ${kind} ${implementation}: ${result.runs_ms.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  };
  const cold: Measured = { snarkjs_ms: [], ours_ms: [] };
  for (let index = 0; index < coldRuns; index++) {
    await measure('cold', 'snarkjs', 1, cold);
    await measure('cold', 'ours', 1, cold);
  }
  const warm: Measured = { snarkjs_ms: [], ours_ms: [] };
  for (const block of [Math.ceil(runs / 2), Math.floor(runs / 2)].filter((count) => count > 0)) {
    await measure('warm', 'snarkjs', block, warm);
    await measure('warm', 'ours', block, warm);
  }
  const whole: Measured = { snarkjs_ms: [], ours_ms: [] };
  if (cliRuns > 0) {
    const scratch = await mkdtemp(join(tmpdir(), 'zkp-bench-witness-'));
    try {
      const inputPath = join(scratch, 'input.json');
      await writeFile(inputPath, JSON.stringify(input));
      for (let index = 0; index < cliRuns; index++) {
        for (const implementation of ['snarkjs', 'ours'] as const) {
          const wtnsPath = join(scratch, `${implementation}.wtns`);
          const wall_ms = await timeCommand(implementation, built.wasm, inputPath, wtnsPath);
          const sha256 = createHash('sha256')
            .update(await readFile(wtnsPath))
            .digest('hex');
          if (sha256 !== referenceSha) throw new Error(`cli ${implementation}: the .wtns differs from snarkjs's`);
          (implementation === 'snarkjs' ? whole.snarkjs_ms : whole.ours_ms).push(wall_ms);
          say(`  cli ${implementation}: ${wall_ms.toFixed(1)} ms`);
        }
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
  const loadavgEnd = loadavg();
  const calculator = await prepareWitnessCalculator(wasm);

  const host = hostname();
  const summary = (measured: Measured) => {
    const snarkjs_median_ms = median(measured.snarkjs_ms);
    const ours_median_ms = median(measured.ours_ms);
    return {
      snarkjs_median_ms: round1(snarkjs_median_ms),
      ours_median_ms: round1(ours_median_ms),
      ratio: Number((snarkjs_median_ms / ours_median_ms).toFixed(2)),
      snarkjs_runs_ms: measured.snarkjs_ms.map(round1),
      ours_runs_ms: measured.ours_ms.map(round1),
    };
  };
  const report = {
    benchmark: 'witness',
    host,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    load_average_start: loadavgStart.map(round2),
    load_average_end: loadavgEnd.map(round2),
    node: process.version,
    date: new Date().toISOString(),
    command: `npm run bench:witness -- --log2n ${log2n} --runs ${runs} --cold-runs ${coldRuns} --cli-runs ${cliRuns} --seed ${seed}`,
    circuit: { name: built.name, log2n, wasm_bytes: wasm.byteLength, witness_values: calculator.nWitness, circom: calculator.circomVersion },
    identical_wtns: true,
    cold: coldRuns > 0 ? summary(cold) : null,
    warm: summary(warm),
    cli: cliRuns > 0 ? summary(whole) : null,
  };
  const rows = [
    ...(report.cold === null ? [] : [['cold (fresh process, first call)', report.cold] as const]),
    ['warm (same process, repeated)', report.warm] as const,
    ...(report.cli === null ? [] : [['whole process (`snarkjs wtns calculate` / `zkp witness`)', report.cli] as const]),
  ];
  const table = [
    '| case | snarkjs median ms | ours median ms | ratio snarkjs / ours | snarkjs runs ms | ours runs ms |',
    '|---|---:|---:|---:|---|---|',
    ...rows.map(
      ([name, row]) =>
        `| ${name} | ${row.snarkjs_median_ms} | ${row.ours_median_ms} | ${row.ratio.toFixed(2)}x | ${row.snarkjs_runs_ms.join(', ')} | ${row.ours_runs_ms.join(', ')} |`,
    ),
  ].join('\n');
  const markdown = [
    `# Witness calculation benchmark on ${host}`,
    '',
    `The witness of ${built.name} (a multiplication chain filling a 2^${log2n} domain; ${calculator.nWitness} witness values; wasm ${wasm.byteLength} bytes from circom ${calculator.circomVersion}), snarkjs ${'`wtns.calculate`'} (in process) against ours (${'`src/prover/witness/`'}); every .wtns byte-identical to snarkjs's.`,
    '',
    `Machine: ${report.cpu_model}, ${report.cores} cores, Node ${process.version}; load average (1, 5, 15 min) ${formatLoad(loadavgStart)} at the start, ${formatLoad(loadavgEnd)} at the end; ${report.date}.`,
    `Command: ${'`'}${report.command}${'`'}`,
    '',
    table,
    '',
    'cold: one fresh process per run, the first calculation timed (snarkjs compiles the wasm inside the call; ours prepares, then calculates), module loading excluded.',
    'warm: one process per implementation and block (two blocks each, alternating), after one untimed run; snarkjs compiles the wasm on every call, ours reuses its prepared calculator (as a worker does).',
    'whole process: each command from spawn to exit, as a user runs it (`node node_modules/snarkjs/build/cli.cjs wtns calculate` and `node bin/zkp.js witness --quiet`, the compiled code), alternating; the .wtns files compared.',
    '',
  ].join('\n');
  writeResults(`witness-${host}`, { json: `${JSON.stringify(report, null, 2)}\n`, md: markdown });
  console.log(table);
}

async function childRun(
  implementation: WitnessImplementation,
  kind: WitnessCase,
  runs: number,
  wasmPath: string,
  input: Record<string, string>,
): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, implementation, kind, String(runs), wasmPath, JSON.stringify(input)], {
    cwd: ROOT,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** Wall time of one whole witness command, spawn to exit. */
async function timeCommand(implementation: WitnessImplementation, wasmPath: string, inputPath: string, wtnsPath: string): Promise<number> {
  const args =
    implementation === 'snarkjs'
      ? [join(ROOT, 'node_modules/snarkjs/build/cli.cjs'), 'wtns', 'calculate', wasmPath, inputPath, wtnsPath]
      : [join(ROOT, 'bin/zkp.js'), 'witness', wasmPath, inputPath, wtnsPath, '--quiet'];
  const started_ms = performance.now();
  await run(process.execPath, args, { cwd: ROOT, maxBuffer: 1 << 20 });
  return performance.now() - started_ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round1 = (value: number) => Math.round(value * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;
const formatLoad = (load: number[]) => load.map((value) => value.toFixed(2)).join(' / ');

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  runWitnessBench(process.argv.slice(2))
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`bench:witness: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
