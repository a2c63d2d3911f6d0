/**
 * Seeded randomness for tests: the project's one PRNG (src/random/prng.ts),
 * seeded from ZKP_TEST_SEED or drawn, the seed always logged so a failure can
 * be replayed with ZKP_TEST_SEED=<seed> npx vitest run <file>.
 */
import type { Prng } from '../../src/random/prng.ts';

export { Prng } from '../../src/random/prng.ts';
export { testRandom, testSeed } from '../../src/random/seed.ts';

/** The generator every seeded test draws from. */
export type SeededRandom = Prng;
