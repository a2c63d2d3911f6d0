// Vitest global setup: compiles src/ into dist/ (npm run build) before any test
// file runs, so the tests that start bin/zkp.js or other compiled processes
// never run a stale copy. Incremental: a few seconds when nothing changed.
import { buildDist } from '../../scripts/build-dist.ts';

export default function setup(): void {
  const started_ms = performance.now();
  const typeErrors = buildDist({ typeErrors: 'warn' });
  if (typeErrors !== null) console.warn(`[build] dist/ written despite type errors (npm run typecheck fails on them):\n${typeErrors}`);
  console.log(`[build] dist/ compiled in ${Math.round(performance.now() - started_ms)} ms`);
}
