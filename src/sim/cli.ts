/** npm run sim: see USAGE in cli-args.ts. */
import { ZkpError } from '../errors/index.ts';
import { parseArgs, USAGE, type CliOptions } from './cli-args.ts';
import type { SessionBug } from './sessions.ts';
import { replayCommand, runSimulation, type SimulationResult } from './simulation.ts';

function describe(result: SimulationResult, steps: number, bug: SessionBug | null): string {
  return `seed ${result.seed} FAILED at tick ${result.failedAtTick ?? '?'}: ${result.failure ?? '?'}\n  replay: ${replayCommand(result.seed, steps, bug)}`;
}

function main(): number {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ZkpError)) throw error;
    console.error(`sim: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const started_ms = performance.now();
  const failures: SimulationResult[] = [];
  let inconclusive = 0;
  let lastReport_ms = started_ms;
  for (let i = 0; i < options.seedCount; i++) {
    const seed = options.seedStart + i;
    const result = runSimulation({ seed, steps: options.steps, bug: options.bug });
    if (result.stats.linearizabilityInconclusive) inconclusive++;
    if (!result.ok) {
      failures.push(result);
      console.log(describe(result, options.steps, options.bug));
      if (options.verbose || options.seedCount === 1)
        console.log(
          result.trace
            .slice(-60)
            .map((line) => `    ${line}`)
            .join('\n'),
        );
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
    `summary: ${options.seedCount} seed${options.seedCount === 1 ? '' : 's'} (${options.seedStart}..${options.seedStart + options.seedCount - 1}), ${options.steps} steps each, ` +
      `${failures.length} failed, ${inconclusive} with an inconclusive linearizability search, ${elapsed_s.toFixed(1)} s, ${(options.seedCount / elapsed_s).toFixed(1)} seeds/s`,
  );
  for (const failure of failures) console.log(`  ${replayCommand(failure.seed, options.steps, options.bug)}`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
