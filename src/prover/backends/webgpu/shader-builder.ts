/**
 * Assembles WGSL modules from the parts in shaders/ and injects constants.
 * Templates use @NAME@ placeholders: field.wgsl is instantiated once per
 * field (fq, fr) and curve.wgsl once per group over its base field (g1 over
 * fq, g2 over fq2), so no field or curve code is duplicated in the sources.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assert } from '../../../errors/index.ts';
import { programConstants } from './curve-programs.ts';
import { BN254_P, BN254_R, MONT_R, toLimbs16 } from './twins/field.ts';

const SHADER_DIR = fileURLToPath(new URL('../../../../shaders/', import.meta.url));

const partCache = new Map<string, string>();
function rawPart(name: string): string {
  let text = partCache.get(name);
  if (text === undefined) {
    text = readFileSync(SHADER_DIR + name, 'utf8');
    partCache.set(name, text);
  }
  return text;
}

/** Code-generation choices that depend on the device's shader compiler. */
export interface CodegenOptions {
  /** Let the compiler unroll limb loops (GPU drivers) or keep them rolled (lavapipe: compile time). */
  readonly unrollLimbs: boolean;
}
let codegen: CodegenOptions = { unrollLimbs: false };
export function setCodegen(options: CodegenOptions): void {
  codegen = options;
}
function part(name: string): string {
  return rawPart(name).replaceAll('@LIMB_BOUND@', codegen.unrollLimbs ? '16u' : 'limb_bound');
}
export function codegenKey(): string {
  return codegen.unrollLimbs ? 'unrolled' : 'rolled';
}

/** Replaces every @KEY@; a placeholder left over is a builder bug. */
export function instantiate(template: string, values: Readonly<Record<string, string | number>>): string {
  const text = template.replace(/@([A-Z_][A-Z0-9_]*)@/g, (whole, key: string) => {
    const v = values[key];
    return v === undefined ? whole : String(v);
  });
  const left = /@[A-Z_][A-Z0-9_]*@/.exec(text);
  assert(left === null, () => `shader template placeholder ${left?.[0]} has no value`);
  return text;
}

function limbList(value: bigint): string {
  return toLimbs16(value).map((l) => `${l}u`).join(', ');
}

export type FieldName = 'fq' | 'fr';
const MODULI: Record<FieldName, bigint> = { fq: BN254_P, fr: BN254_R };

/** -p^-1 mod 2^16 for the Montgomery reduction step. */
function negInverse16(p: bigint): bigint {
  const m = 1n << 16n;
  let inv = 1n;
  for (let i = 0; i < 16; i++) inv = (inv * (2n - ((p * inv) % m))) % m; // Newton iteration
  inv = ((inv % m) + m) % m;
  assert((p * inv) % m === 1n, 'modulus inverse mod 2^16');
  return (m - inv) % m;
}

export function fieldPart(field: FieldName): string {
  const p = MODULI[field];
  return instantiate(part('field.wgsl'), {
    FIELD: field,
    FIELD_P: limbList(p),
    FIELD_ONE: limbList(MONT_R % p),
    FIELD_R2: limbList((MONT_R * MONT_R) % p),
    FIELD_NINV: negInverse16(p).toString(),
  });
}

export type GroupName = 'g1' | 'g2';

function curvePart(group: GroupName): string {
  return instantiate(part('curve.wgsl'), { ...programConstants(), ...(group === 'g1' ? { G: 'g1', F: 'fq', FT: 'Big' } : { G: 'g2', F: 'fq2', FT: 'Fq2' }) });
}

function groupParts(group: GroupName): string[] {
  const base = [part('bigint.wgsl'), fieldPart('fq')];
  if (group === 'g2') base.push(part('fq2.wgsl'));
  base.push(curvePart(group));
  return base;
}

export interface MsmShaderOptions {
  readonly workgroupSize: number;
  /** Entries one accumulation thread sums (K); each level shrinks the sequence by K/2. */
  readonly entriesPerThread: number;
}

export function buildMsmShader(group: GroupName, options: MsmShaderOptions): string {
  assert(options.entriesPerThread >= 4, 'entriesPerThread must be >= 4');
  const msm = instantiate(part('msm.wgsl'), {
    G: group,
    F: group === 'g1' ? 'fq' : 'fq2',
    FT: group === 'g1' ? 'Big' : 'Fq2',
    WORKGROUP_SIZE: options.workgroupSize,
    ENTRIES_PER_THREAD: options.entriesPerThread,
  });
  return [...groupParts(group), msm].join('\n');
}

export function buildNttShader(options: { readonly workgroupSize: number }): string {
  const ntt = instantiate(part('ntt.wgsl'), { WORKGROUP_SIZE: options.workgroupSize });
  return [part('bigint.wgsl'), fieldPart('fr'), ntt].join('\n');
}

export function buildFieldTestShader(field: FieldName): string {
  return [part('bigint.wgsl'), fieldPart(field), instantiate(part('field_test.wgsl'), { FIELD: field })].join('\n');
}
