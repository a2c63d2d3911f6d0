/** The command line of `npm run sim:jobs` (cli.ts), parsed apart from running it so it can be tested. */
import { InvalidArgumentError } from '../../errors/index.ts';
import { PLANTED_BUGS, type PlantedBug } from './planted-bugs.ts';
import { DEFAULT_JOB_SIM_STEPS } from './simulation.ts';

export const JOB_SIM_USAGE = `usage: npm run sim:jobs -- [--seeds N] [--seed S] [--steps K] [--bug NAME] [--verbose]

Runs the job state machine and the scheduler inside the deterministic
simulator (3 coordinators on simulated Raft, simulated clients and workers;
crashes, partitions, message loss and duplication, worker deaths, stalls and
late reports), on seeds S, S+1, ..., S+N-1. Each seed runs K faulty ticks of
10 ms, then a calm period in which every acknowledged job must finish.

  --seeds N    how many seeds to run (default 1)
  --seed S     the first seed (default 1); with --seed alone, only that seed
               runs and its trace is printed
  --steps K    faulty ticks per seed (default ${DEFAULT_JOB_SIM_STEPS}); a replay must use the
               same value as the run that failed
  --bug NAME   plant a bug in the state machine, to see the checkers catch it:
               ${PLANTED_BUGS.join(', ')}
  --verbose    print every seed's statistics, and a failing seed's trace
  --help       this text

A failing seed prints its failure and the command that replays it; the exit
status is 1 if any seed failed.`;

export interface JobSimCliOptions {
  seedStart: number;
  seedCount: number;
  steps: number;
  bug: PlantedBug | null;
  verbose: boolean;
  help: boolean;
}

export function parseJobSimArgs(argv: readonly string[]): JobSimCliOptions {
  const options: JobSimCliOptions = { seedStart: 1, seedCount: 1, steps: DEFAULT_JOB_SIM_STEPS, bug: null, verbose: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let raw: string | undefined;
    const equals = flag.indexOf('=');
    if (flag.startsWith('--') && equals > 0) {
      raw = flag.slice(equals + 1);
      flag = flag.slice(0, equals);
    }
    if (flag === '--verbose' || flag === '--help' || flag === '-h') {
      if (raw !== undefined) throw new InvalidArgumentError(`${flag} takes no value`);
      if (flag === '--verbose') options.verbose = true;
      else options.help = true;
      continue;
    }
    if (flag !== '--seeds' && flag !== '--seed' && flag !== '--steps' && flag !== '--bug') {
      throw new InvalidArgumentError(`unknown argument ${JSON.stringify(argv[i])} (expected --seeds, --seed, --steps, --bug, --verbose or --help)`);
    }
    if (raw === undefined) raw = argv[++i];
    if (flag === '--bug') {
      if (!PLANTED_BUGS.includes(raw as PlantedBug))
        throw new InvalidArgumentError(`--bug must be one of ${PLANTED_BUGS.join(', ')}, got ${JSON.stringify(raw ?? null)}`);
      options.bug = raw as PlantedBug;
      continue;
    }
    const value = raw === undefined || raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`${flag} needs a non-negative integer, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
    }
    if (flag === '--seeds') options.seedCount = value;
    else if (flag === '--seed') options.seedStart = value;
    else options.steps = value;
  }
  if (options.seedCount < 1 || options.steps < 1) throw new InvalidArgumentError('--seeds and --steps must be at least 1');
  return options;
}
