/**
 * The one seed variable of the tests and benchmarks: ZKP_TEST_SEED. A
 * randomised test or bench takes its seed from it, or draws one, and logs it
 * either way, so any run can be replayed:
 *
 *   ZKP_TEST_SEED=<seed> npx vitest run <file>
 *
 * (The simulator's CLI takes its seeds as flags: --seed, --seeds.)
 */
import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../errors/index.ts';
import { Prng } from './prng.ts';

export const SEED_VARIABLE = 'ZKP_TEST_SEED';

/** A seed as the environment gives it: a non-negative safe integer, decimal or 0x-hex. */
export function parseSeed(text: string, what = SEED_VARIABLE): number {
  const trimmed = text.trim();
  const value = /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${what} must be a non-negative integer below 2^53, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * The run's seed for `label`: ZKP_TEST_SEED when set, else `fallback` when
 * given (a fixed default, as the simulation test's first seed), else a fresh
 * random one. Logged with the command that replays it.
 */
export function testSeed(label: string, options: { readonly fallback?: number; readonly env?: NodeJS.ProcessEnv } = {}): number {
  const fromEnv = (options.env ?? process.env)[SEED_VARIABLE];
  const seed = fromEnv !== undefined && fromEnv !== '' ? parseSeed(fromEnv) : (options.fallback ?? randomInt(2 ** 47));
  console.log(`[${label}] seed ${seed} (replay with ${SEED_VARIABLE}=${seed})`);
  return seed;
}

/** A Prng seeded by testSeed(label). */
export function testRandom(label: string): Prng {
  return new Prng(testSeed(label));
}
