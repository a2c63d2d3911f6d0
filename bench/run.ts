/**
 * `npm run bench`: every benchmark module present, one after another, each in
 * its own process (they start worker threads and write their own reports),
 * each with its default options (run a module's own script to pass options,
 * e.g. `npm run bench:prover -- --log2n 12`). A module that is missing is
 * skipped; one that fails makes the whole run fail at the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchCli } from './lib/cli.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = join(BENCH_DIR, '..');
const MODULES = ['prover.ts', 'msm.ts', 'webgpu.ts', 'raft.ts'];

// No flags of its own (each module takes its own; see their --help): --help only.
new BenchCli(
  'bench',
  `usage: npm run bench

Runs every benchmark with its default options, one after another, each in its
own process: ${MODULES.join(', ')} (bench/). Each writes its report under
bench/results/. To pass options, run one module's own script, for example
npm run bench:prover -- --log2n 12, or npm run bench:raft -- --help.`,
  {},
);

const failed: string[] = [];
for (const module of MODULES) {
  const path = join(BENCH_DIR, module);
  if (!existsSync(path)) {
    process.stderr.write(`bench: ${module} not present, skipped\n`);
    continue;
  }
  process.stderr.write(`bench: running ${module}\n`);
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), path], { stdio: 'inherit', cwd: ROOT });
  if (result.status !== 0) failed.push(module);
}
if (failed.length > 0) {
  process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
