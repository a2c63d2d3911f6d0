/**
 * ffjavascript's bn128 as a benchmark baseline: the slice of its API the
 * benchmarks use, loaded by a computed specifier (the package has no types).
 */
export interface FfGroup {
  g: Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  timesScalar(p: Uint8Array, s: number): Uint8Array;
  toAffine(p: Uint8Array): Uint8Array;
  multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
}
export interface FfField {
  fft(buff: Uint8Array): Promise<Uint8Array>;
  ifft(buff: Uint8Array): Promise<Uint8Array>;
}
export interface FfCurve {
  G1: FfGroup;
  G2: FfGroup;
  Fr: FfField;
  terminate(): Promise<void>;
}

export async function loadBn128(): Promise<FfCurve> {
  const specifier: string = 'ffjavascript';
  const ff = (await import(specifier)) as { buildBn128(): Promise<unknown> };
  return (await ff.buildBn128()) as FfCurve;
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
