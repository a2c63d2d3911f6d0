/**
 * The one type declaration of ffjavascript (it ships none): the slice of its
 * API that this project uses, in the prover (snarkjs backend, ABC, NTT
 * reference), the tests and the benchmarks. Points and field elements are byte
 * buffers in ffjavascript's internal (Montgomery) layout unless a method says
 * otherwise. Checked against the library by the parity tests, not by the compiler.
 */
declare module 'ffjavascript' {
  export interface FfField {
    readonly n8: number;
    /** 2-adicity: the largest s with 2^s dividing r - 1. */
    readonly s: number;
    /** w[k] is a primitive 2^k-th root of unity. */
    readonly w: Uint8Array[];
    readonly shift: Uint8Array;
    readonly one: Uint8Array;
    readonly zero: Uint8Array;
    e(value: number | bigint | string): Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    sub(a: Uint8Array, b: Uint8Array): Uint8Array;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    inv(a: Uint8Array): Uint8Array;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    random(): Uint8Array;
    toObject(a: Uint8Array): bigint;
    fromMontgomery(a: Uint8Array): Uint8Array;
    toMontgomery(a: Uint8Array): Uint8Array;
    fromRprLE(buffer: Uint8Array, offset: number): Uint8Array;
    toRprLE(buffer: Uint8Array, offset: number, value: Uint8Array): void;
    fft(values: Uint8Array): Promise<Uint8Array>;
    ifft(values: Uint8Array): Promise<Uint8Array>;
    batchApplyKey(values: Uint8Array, first: Uint8Array, inc: Uint8Array): Promise<Uint8Array>;
  }

  export interface FfGroup {
    readonly F: FfField;
    readonly g: Uint8Array;
    readonly zero: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    double(a: Uint8Array): Uint8Array;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    timesFr(point: Uint8Array, scalar: Uint8Array): Uint8Array;
    timesScalar(point: Uint8Array, scalar: number | bigint): Uint8Array;
    toAffine(point: Uint8Array): Uint8Array;
    fromAffine(point: Uint8Array): Uint8Array;
    toObject(point: Uint8Array): bigint[] | bigint[][];
    fromRprLEM(buffer: Uint8Array, offset: number): Uint8Array;
    multiExpAffine(bases: Uint8Array, scalars: Uint8Array, logger?: unknown, label?: string): Promise<Uint8Array>;
  }

  export interface FfTask {
    readonly cmd: string;
    readonly [key: string]: unknown;
  }

  export interface FfCurve {
    readonly name: string;
    readonly G1: FfGroup;
    readonly G2: FfGroup;
    readonly Fr: FfField;
    readonly tm: { readonly concurrency: number; queueAction(task: FfTask[]): Promise<Uint8Array[]> };
    terminate(): Promise<void>;
  }

  /** ffjavascript caches one instance per process (snarkjs shares it). singleThread: no worker threads. */
  export function buildBn128(singleThread?: boolean): Promise<FfCurve>;

  export const utils: { stringifyBigInts(value: unknown): unknown; unstringifyBigInts(value: unknown): unknown };
}
