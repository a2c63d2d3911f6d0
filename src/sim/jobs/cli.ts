/** npm run sim:jobs: see JOB_SIM_USAGE in cli-args.ts. */
import { ZkpError } from '../../errors/index.ts';
import { JOB_SIM_USAGE, type JobSimCliOptions, parseJobSimArgs } from './cli-args.ts';
import { type JobSimulationResult, jobSimReplayCommand, runJobSimulation } from './simulation.ts';

function main(): number {
  let options: JobSimCliOptions;
  try {
    options = parseJobSimArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ZkpError)) throw error;
    console.error(`sim:jobs: ${error.message}\n\n${JOB_SIM_USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(JOB_SIM_USAGE);
    return 0;
  }
  const started_ms = performance.now();
  const failures: JobSimulationResult[] = [];
  let lastReport_ms = started_ms;
  for (let i = 0; i < options.seedCount; i++) {
    const seed = options.seedStart + i;
    const result = runJobSimulation({ seed, steps: options.steps, bug: options.bug });
    if (!result.ok) {
      failures.push(result);
      console.log(
        `seed ${seed} FAILED at tick ${result.failedAtTick ?? '?'}: ${result.failure ?? '?'}\n  replay: ${jobSimReplayCommand(seed, options.steps, options.bug)}`,
      );
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
    `summary: ${options.seedCount} seed${options.seedCount === 1 ? '' : 's'} (${options.seedStart}..${options.seedStart + options.seedCount - 1}), ` +
      `${options.steps} steps each${options.bug === null ? '' : `, planted bug ${options.bug}`}, ${failures.length} failed, ${elapsed_s.toFixed(1)} s, ` +
      `${(options.seedCount / elapsed_s).toFixed(1)} seeds/s`,
  );
  for (const failure of failures) console.log(`  ${jobSimReplayCommand(failure.seed, options.steps, options.bug)}`);
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
