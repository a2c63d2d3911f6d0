import { InvalidArgumentError } from '../errors/index.ts';
import { replayCommand, runSimulation, type SimulationResult } from './simulation.ts';

/**
 * npm run sim -- --seeds N [--seed S] [--steps K] [--verbose]
 * Runs seeds S, S+1, ..., S+N-1 (S defaults to 1; with --seed alone, N is 1).
 */
interface CliOptions {
  seedStart: number;
  seedCount: number;
  steps: number;
  verbose: boolean;
}

export const DEFAULT_STEPS = 1500;

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seedStart: 1, seedCount: 1, steps: DEFAULT_STEPS, verbose: false };
  let seedsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--verbose') {
      options.verbose = true;
      continue;
    }
    const raw = argv[++i];
    const value = raw === undefined ? NaN : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${flag} needs a non-negative integer, got ${String(raw)}`);
    if (flag === '--seeds') {
      options.seedCount = value;
      seedsGiven = true;
    } else if (flag === '--seed') options.seedStart = value;
    else if (flag === '--steps') options.steps = value;
    else throw new InvalidArgumentError(`unknown flag ${flag} (expected --seeds, --seed, --steps, --verbose)`);
  }
  if (!seedsGiven) options.seedCount = 1;
  if (options.seedCount < 1 || options.steps < 1) throw new InvalidArgumentError('--seeds and --steps must be at least 1');
  return options;
}

function describe(result: SimulationResult, steps: number): string {
  return `seed ${result.seed} FAILED at tick ${result.failedAtTick ?? '?'}: ${result.failure ?? '?'}\n  replay: ${replayCommand(result.seed, steps)}`;
}

function main(): number {
  const options = parseArgs(process.argv.slice(2));
  const started_ms = performance.now();
  const failures: SimulationResult[] = [];
  let inconclusive = 0;
  let lastReport_ms = started_ms;
  for (let i = 0; i < options.seedCount; i++) {
    const seed = options.seedStart + i;
    const result = runSimulation({ seed, steps: options.steps });
    if (result.stats.linearizabilityInconclusive) inconclusive++;
    if (!result.ok) {
      failures.push(result);
      console.log(describe(result, options.steps));
      if (options.verbose || options.seedCount === 1) console.log(result.trace.slice(-60).map((line) => `    ${line}`).join('\n'));
    } else if (options.verbose || options.seedCount === 1) {
      console.log(`seed ${seed} ok ${JSON.stringify(result.stats)}`);
    }
    const now_ms = performance.now();
    if (now_ms - lastReport_ms > 5000) {
      lastReport_ms = now_ms;
      console.log(`progress: ${i + 1}/${options.seedCount} seeds, ${failures.length} failed, ${((i + 1) / ((now_ms - started_ms) / 1000)).toFixed(1)} seeds/s`);
    }
  }
  const elapsed_s = (performance.now() - started_ms) / 1000;
  console.log(
    `summary: ${options.seedCount} seeds (${options.seedStart}..${options.seedStart + options.seedCount - 1}), ${options.steps} steps each, ` +
      `${failures.length} failed, ${inconclusive} with an inconclusive linearizability search, ${elapsed_s.toFixed(1)} s, ${(options.seedCount / elapsed_s).toFixed(1)} seeds/s`,
  );
  for (const failure of failures) console.log(`  ${replayCommand(failure.seed, options.steps)}`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
