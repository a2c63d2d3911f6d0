/** The command line of `npm run sim` (cli.ts), parsed apart from running it so it can be tested. */
import { InvalidArgumentError } from '../errors/index.ts';
import { SESSION_BUGS, type SessionBug } from './sessions.ts';

export const USAGE = `usage: npm run sim -- [--seeds N] [--seed S] [--steps K] [--bug NAME] [--verbose]

Runs the deterministic Raft simulator (3 to 5 nodes; simulated network, disk,
crashes and pauses; safety and linearizability checked after every step) on seeds
S, S+1, ..., S+N-1.

  --seeds N    how many seeds to run (default 1)
  --seed S     the first seed (default 1); with --seed alone, only that seed
               runs and its trace is printed
  --steps K    simulated ticks per seed (default 1500); a replay must use the
               same value as the run that failed
  --bug NAME   plant a bug in the nodes' exactly-once sessions, to see the
               checkers catch it: ${SESSION_BUGS.join(', ')}
  --verbose    print every seed's statistics, and a failing seed's trace
  --help       this text

A failing seed prints its failure and the command that replays it; the exit
status is 1 if any seed failed.`;

export interface CliOptions {
  seedStart: number;
  seedCount: number;
  steps: number;
  bug: SessionBug | null;
  verbose: boolean;
  help: boolean;
}

export const DEFAULT_STEPS = 1500;

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { seedStart: 1, seedCount: 1, steps: DEFAULT_STEPS, bug: null, verbose: false, help: false };
  let seedsGiven = false;
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
      if (!SESSION_BUGS.includes(raw as SessionBug))
        throw new InvalidArgumentError(`--bug must be one of ${SESSION_BUGS.join(', ')}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
      options.bug = raw as SessionBug;
      continue;
    }
    const value = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(`${flag} needs a non-negative integer, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
    }
    if (flag === '--seeds') {
      options.seedCount = value;
      seedsGiven = true;
    } else if (flag === '--seed') options.seedStart = value;
    else options.steps = value;
  }
  if (!seedsGiven) options.seedCount = 1;
  if (options.seedCount < 1 || options.steps < 1) throw new InvalidArgumentError('--seeds and --steps must be at least 1');
  return options;
}
