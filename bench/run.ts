/**
 * `npm run bench`: Groth16 prove times on a ladder of circuits (synthetic,
 * Poseidon Merkle, SHA-256) for snarkjs, native, webgpu and any --peer
 * binary, cold and warm, with reports (JSON of src/bench-report/schema.ts,
 * Markdown, two SVG charts) in bench/results/. docs/bench.md describes it.
 *
 * `npm run bench -- --parts` runs the per-part benches instead (prover, msm,
 * webgpu, raft), one after another, each in its own process with its
 * defaults; a missing one is skipped, a failed one fails the run at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distStaleness } from '../scripts/build-dist.ts';
import { releaseCurve } from '../src/prover/ffjs.ts';
import { testSeed } from '../src/random/seed.ts';
import { LADDER_USAGE, type LadderOptions, parseBenchArgs, UsageError } from './lib/ladder-flags.ts';
import { machineInfo, probeGpu } from './lib/ladder-machine.ts';
import { LadderProgress } from './lib/ladder-progress.ts';
import { buildReport, renderMarkdown, speedupPlot, timePlot } from './lib/ladder-report.ts';
import { runLadder } from './lib/ladder-run.ts';
import { killLiveChildren } from './lib/measured-process.ts';
import { writeResults } from './lib/results.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const PART_MODULES = ['prover.ts', 'msm.ts', 'webgpu.ts', 'raft.ts'];

function runParts(): number {
  const failed: string[] = [];
  for (const module of PART_MODULES) {
    const path = join(BENCH_DIR, module);
    if (!existsSync(path)) {
      process.stderr.write(`bench: ${module} not present, skipped\n`);
      continue;
    }
    process.stderr.write(`bench: running ${module}\n`);
    const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path], { stdio: 'inherit', cwd: ROOT });
    if (result.status !== 0) failed.push(module);
  }
  if (failed.length > 0) process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

async function runLadderBench(argv: readonly string[], options: LadderOptions): Promise<number> {
  // bin/zkp.js runs dist/: timing a copy older than the sources would time other code.
  const stale = process.env.VITEST === undefined ? distStaleness() : null;
  if (stale !== null) throw new Error(`${stale}; run \`npm run build\` (bin/zkp.js runs dist/)`);
  const seed = options.seed ?? testSeed('bench');
  const started_at = new Date();
  const started_ms = performance.now();
  const progress = new LadderProgress(0);
  progress.say(
    `bench: rungs 2^${options.log2s.join(', 2^')}; circuits ${options.families.join(', ')}; backends ${[...options.backends, ...options.peers.map((peer) => `peer:${peer.name}`)].join(', ')}; ${options.samples} samples; seed ${seed}`,
  );
  const gpu = await probeGpu();
  progress.say(`bench: GPU: ${gpu.gpu === null ? gpu.reason : `${gpu.gpu.description}${gpu.gpu.is_software ? ' (software)' : ''}`}`);
  const machine = await machineInfo(gpu.gpu);
  const result = await runLadder(options, seed, { info: gpu.gpu, reason: gpu.reason }, progress);
  progress.finish();

  const report = buildReport({
    started_at,
    duration_ms: performance.now() - started_ms,
    argv: [...argv],
    machine,
    circuits: result.circuits,
    measured: result.measured,
  });
  const command = `npm run bench${argv.length === 0 ? '' : ` -- ${argv.join(' ')}`}${options.seed === undefined ? ` (seed ${seed})` : ''}`;
  const files = {
    json: `${JSON.stringify(report, null, 2)}\n`,
    md: renderMarkdown(report, command),
    'time.svg': timePlot(report),
    'speedup.svg': speedupPlot(report),
  };
  // Results are named by host; this repository's reports use "vm" for its development machine.
  const name = `bench-${hostname()}`;
  const written: string[] = [];
  if (options.outDir !== undefined) {
    mkdirSync(options.outDir, { recursive: true });
    for (const [ext, text] of Object.entries(files)) {
      const file = join(options.outDir, `${name}${ext.endsWith('svg') ? '-' : '.'}${ext}`);
      writeFileSync(file, text);
      written.push(relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file));
    }
  } else {
    written.push(...writeResults(name, { json: files.json, md: files.md }));
    written.push(...writeResults(`${name}-time`, { svg: files['time.svg'] }));
    written.push(...writeResults(`${name}-speedup`, { svg: files['speedup.svg'] }));
  }
  process.stdout.write(files.md);
  process.stderr.write(`bench: wrote ${written.join(', ')}\n`);
  const bad = report.runs.filter((run) => run.status === 'failed' || (run.status === 'ok' && !run.verified));
  if (bad.length > 0) {
    process.stderr.write(`bench: ${bad.length} run(s) failed or did not verify: ${bad.map((run) => `${run.circuit}/${run.backend}`).join(', ')}\n`);
    return 1;
  }
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseBenchArgs>;
  try {
    parsed = parseBenchArgs(argv, totalmem());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n(npm run bench -- --help lists the flags)\n`);
    return 2;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(`${LADDER_USAGE}\n`);
    return 0;
  }
  if (parsed.kind === 'parts') return runParts();
  return runLadderBench(argv, parsed.options);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    killLiveChildren();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
main(process.argv.slice(2))
  .then(async (code) => {
    await releaseCurve();
    process.exit(code);
  })
  .catch((error: unknown) => {
    killLiveChildren();
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
