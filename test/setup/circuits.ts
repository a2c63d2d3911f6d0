// Vitest global setup: builds the test circuits (circom2 + a local Powers of Tau,
// cached in circuits/build and circuits/cache) once, before any test file runs. On a
// fresh checkout the first build takes minutes on 2 cores; done inside a test it
// raced the test's timeout while other files waited on its lock.
import { buildTestCircuits } from '../../scripts/build-circuits.ts';

export default async function setup(): Promise<void> {
  await buildTestCircuits((line) => console.log(`[circuits] ${line}`));
}
