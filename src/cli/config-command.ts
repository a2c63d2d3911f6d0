/** `zkp config --print [--for coordinator|worker|client|dev]`: every key with its environment name, value and source. */
import { formatConfig, loadConfig, PROCESS_KINDS, type ProcessKind, splitConfigArgs } from '../config/index.ts';
import { InvalidArgumentError } from '../errors/index.ts';
import { parseArgs } from './args.ts';
import type { CliStreams } from './streams.ts';

/** Takes `--for KIND` out of the arguments (needed first: it decides which config flags exist). */
function takeKind(args: readonly string[]): { kind: ProcessKind; rest: string[] } {
  const rest: string[] = [];
  let kind: string | null = null;
  for (let at = 0; at < args.length; at++) {
    const arg = args[at]!;
    if (arg === '--for' || arg.startsWith('--for=')) {
      if (kind !== null) throw new InvalidArgumentError('option --for is given twice');
      kind = arg === '--for' ? (args[++at] ?? '') : arg.slice('--for='.length);
      continue;
    }
    rest.push(arg);
  }
  if (kind === null) return { kind: 'client', rest };
  if (!(PROCESS_KINDS as readonly string[]).includes(kind))
    throw new InvalidArgumentError(`option --for must be one of ${PROCESS_KINDS.join(', ')}, got "${kind}"`);
  return { kind: kind as ProcessKind, rest };
}

export function configCommand(args: readonly string[], io: CliStreams, help: () => number): number {
  const { kind, rest } = takeKind(args);
  const split = splitConfigArgs(rest, kind);
  const parsed = parseArgs(split.rest, { valued: [], booleans: ['print', 'help'] });
  if (parsed.flags.has('help')) return help();
  if (parsed.positionals.length > 0) throw new InvalidArgumentError(`zkp config takes no arguments, got ${parsed.positionals.join(' ')}`);
  if (!parsed.flags.has('print')) throw new InvalidArgumentError('zkp config needs --print (zkp config --print [--for coordinator|worker|client|dev])');
  const loaded = loadConfig(kind, {
    flags: split.flags,
    configPath: split.configPath,
    ...(io.env === undefined ? {} : { env: io.env }),
    ...(io.cwd === undefined ? {} : { cwd: io.cwd }),
    allowMissing: true,
  });
  io.stdout.write(formatConfig(loaded));
  if (loaded.missing.length > 0) {
    throw new InvalidArgumentError(`zkp ${kind} would not start: required key${loaded.missing.length === 1 ? '' : 's'} not set: ${loaded.missing.join(', ')}`);
  }
  return 0;
}
