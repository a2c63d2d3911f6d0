/**
 * The command line of a benchmark script: `--help` (or `-h`) prints its usage
 * and exits 0; an unknown flag, a missing value or a bad number prints one
 * line that names the problem, then the usage, and exits 2. A typo must not
 * silently run a long benchmark with the defaults, and `--help` must not start
 * one (building the bench circuit takes tens of minutes on a small host).
 */
import { parseArgs } from 'node:util';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** The flag may be given more than once; read it with strings(). */
  readonly multiple?: boolean;
}

export class BenchCli {
  private readonly values: Record<string, string | boolean | undefined>;

  constructor(
    readonly name: string,
    readonly usage: string,
    flags: Record<string, FlagSpec>,
    argv: readonly string[] = process.argv.slice(2),
  ) {
    let values: Record<string, string | boolean | undefined>;
    try {
      ({ values } = parseArgs({ args: [...argv], options: { ...flags, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
    }
    if (values.help === true) {
      process.stdout.write(`${usage.trim()}\n`);
      process.exit(0);
    }
    this.values = values;
  }

  /** Prints `name: message` and the usage on stderr, exits 2. */
  fail(message: string): never {
    process.stderr.write(`${this.name}: ${message}\n\n${this.usage.trim()}\n`);
    process.exit(2);
  }

  string(flag: string): string | undefined {
    const value = this.values[flag];
    return typeof value === 'string' ? value : undefined;
  }

  /** Every value of a flag declared with `multiple: true`, in order (empty when absent). */
  strings(flag: string): string[] {
    const value = (this.values as Record<string, unknown>)[flag];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }

  boolean(flag: string): boolean {
    return this.values[flag] === true;
  }

  /** An integer flag in [min, max], or the fallback when it is absent. */
  int(flag: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.string(flag);
    if (raw === undefined) return fallback;
    const value = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
      this.fail(`--${flag} needs ${range}, got ${JSON.stringify(raw)}`);
    }
    return value;
  }

  /** A finite number flag greater than `above`, or the fallback when it is absent. */
  number(flag: string, fallback: number, above = 0): number {
    const raw = this.string(flag);
    if (raw === undefined) return fallback;
    const value = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(value) || value <= above) this.fail(`--${flag} needs a number above ${above}, got ${JSON.stringify(raw)}`);
    return value;
  }

  /** A comma-separated list whose items must each be one of `allowed`. */
  list<T extends string>(flag: string, fallback: readonly T[], allowed: readonly T[]): T[] {
    const raw = this.string(flag);
    if (raw === undefined) return [...fallback];
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) this.fail(`--${flag} needs at least one of ${allowed.join(', ')}`);
    for (const item of items)
      if (!(allowed as readonly string[]).includes(item)) this.fail(`--${flag}: ${JSON.stringify(item)} is not one of ${allowed.join(', ')}`);
    return items as T[];
  }
}
