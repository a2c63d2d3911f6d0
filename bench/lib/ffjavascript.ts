/**
 * ffjavascript's bn128 as a benchmark baseline (its types: src/prover/ffjavascript.d.ts).
 * Loaded on first use: the device bundle carries the WebGPU probe, which needs
 * it only without the native addon, and leaves ffjavascript out.
 */
import type { FfCurve, FfGroup } from 'ffjavascript';

export type { FfCurve, FfField, FfGroup } from 'ffjavascript';

export async function loadBn128(): Promise<FfCurve> {
  const { buildBn128 } = await import('ffjavascript');
  return buildBn128();
}

/** n distinct affine points: a chain P, P+Q, P+2Q, ... restarted every 1024 points. */
export function chainPoints(group: FfGroup, n: number, pointBytes: number): Uint8Array {
  const out = new Uint8Array(n * pointBytes);
  const step = group.timesScalar(group.g, 0x9e3779b9);
  let p = group.g;
  for (let i = 0; i < n; i++) {
    if (i % 1024 === 1023) p = group.timesScalar(group.g, 1_000_003 + i);
    out.set(group.toAffine(p), i * pointBytes);
    p = group.add(p, step);
  }
  return out;
}
