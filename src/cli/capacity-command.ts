/**
 * `zkp capacity --report <bench.json> --rate <proofs/h> --p99 <seconds>
 * [--circuit NAME] [--cost gpu=USD/h,cpu=USD/h]`: how many workers of each
 * kind in a prove-bench report meet a rate and a p99 (src/capacity/,
 * docs/capacity.md). Without --circuit every circuit of the report is
 * planned, one block each.
 */
import { parseCost } from '../capacity/cost.ts';
import { formatPlans } from './capacity-format.ts';
import { planReport, type Target } from '../capacity/plan.ts';
import { loadBenchReport } from '../capacity/report.ts';
import { InvalidArgumentError } from '../errors/index.ts';
import { parseArgs } from './args.ts';
import type { CliStreams } from './streams.ts';

const USAGE = 'zkp capacity --report <bench.json> --rate <proofs per hour> --p99 <seconds> [--circuit NAME] [--cost gpu=USD/h,cpu=USD/h]';

/** A number above 0 (a plain decimal, no units); InvalidArgumentError naming the option otherwise. */
function positiveNumber(option: string, text: string | undefined, what: string): number {
  if (text === undefined) throw new InvalidArgumentError(`zkp capacity needs --${option} (${USAGE})`);
  const value = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`--${option} must be ${what} above 0, got "${text}"`);
  return value;
}

export function capacityCommand(args: readonly string[], io: CliStreams, help: () => number): number {
  const parsed = parseArgs(args, { valued: ['report', 'rate', 'p99', 'circuit', 'cost'], booleans: ['help'] });
  if (parsed.flags.has('help')) return help();
  if (parsed.positionals.length > 0)
    throw new InvalidArgumentError(`zkp capacity takes no positional arguments, got ${parsed.positionals.join(' ')} (${USAGE})`);
  const path = parsed.values.get('report');
  if (path === undefined) throw new InvalidArgumentError(`zkp capacity needs --report (${USAGE})`);
  const target: Target = {
    rate_per_h: positiveNumber('rate', parsed.values.get('rate'), 'a number of proofs per hour'),
    p99_s: positiveNumber('p99', parsed.values.get('p99'), 'a number of seconds'),
  };
  const costText = parsed.values.get('cost');
  const cost = costText === undefined ? {} : parseCost(costText);
  const report = loadBenchReport(path);
  const plans = planReport(report, parsed.values.get('circuit') ?? null, target, cost, path);
  io.stdout.write(formatPlans(plans, report, path, target, cost));
  return 0;
}
