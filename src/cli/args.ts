/** A small argument parser: positionals plus --flag / --key value / --key=value. */
import { InvalidArgumentError } from '../errors/index.ts';

export interface ParsedArgs {
  readonly positionals: string[];
  readonly flags: Set<string>;
  readonly values: Map<string, string>;
}

export interface ArgSpec {
  /** Options that take a value. */
  readonly valued: readonly string[];
  /** Options that are on/off. */
  readonly booleans: readonly string[];
}

export function parseArgs(args: readonly string[], spec: ArgSpec): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--') {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-' && arg !== '-h') throw new InvalidArgumentError(`unknown option ${arg} (see zkp --help)`);
      if (arg === '-h') flags.add('help');
      else positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (spec.booleans.includes(name)) {
      if (eq >= 0) throw new InvalidArgumentError(`option --${name} takes no value`);
      flags.add(name);
    } else if (spec.valued.includes(name)) {
      const value = eq >= 0 ? arg.slice(eq + 1) : args[++index];
      if (value === undefined || value === '') throw new InvalidArgumentError(`option --${name} needs a value`);
      values.set(name, value);
    } else {
      throw new InvalidArgumentError(`unknown option --${name} (see zkp --help)`);
    }
  }
  return { positionals, flags, values };
}

/** The positionals, exactly `names.length` of them; otherwise InvalidArgumentError naming what the command takes. */
export function expectPositionals(parsed: ParsedArgs, names: readonly string[], command: string): string[] {
  if (parsed.positionals.length !== names.length) {
    throw new InvalidArgumentError(`${command} takes ${names.length} files (${names.join(' ')}), got ${parsed.positionals.length}`);
  }
  return parsed.positionals;
}
