/** The simulator's PRNG is the project's one seeded PRNG (src/random/prng.ts); this path stays for the simulator's modules. */
export { Prng } from '../random/prng.ts';
