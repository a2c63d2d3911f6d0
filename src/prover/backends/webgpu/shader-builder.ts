/**
 * Assembles WGSL modules from the parts in shaders/ and injects constants.
 * Templates use @NAME@ placeholders: field.wgsl is instantiated once per
 * field (fq, fr) and curve.wgsl once per group over its base field (g1 over
 * fq, g2 over fq2), so no field or curve code is duplicated in the sources.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assert } from '../../../errors/index.ts';
import { CPU_DRIVER_CODEGEN, type CodegenOptions } from './codegen.ts';
import { REGISTER_COUNT, curveRunners } from './curve-programs.ts';
import { BN254_P, BN254_R, MONT_R, toLimbs16 } from './twins/field.ts';
import { negInverse13, toLimbs13 } from './twins/field13.ts';

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

/** A part with its limb-loop bound set for the codegen (see bigint.wgsl). */
function part(name: string, codegen: CodegenOptions): string {
  return rawPart(name)
    .replaceAll('@LIMB_BOUND@', codegen.unrollLimbs ? '16u' : 'limb_bound')
    .replaceAll('@LIMB13_BOUND@', codegen.unrollLimbs ? '20u' : 'limb_bound + 4u')
    .replaceAll('@FQ2_PRODUCTS@', codegen.unrollLimbs ? '3u' : 'limb_bound - 13u');
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
  return toLimbs16(value)
    .map((l) => `${l}u`)
    .join(', ');
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

export function fieldPart(field: FieldName, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const p = MODULI[field];
  return instantiate(part('field.wgsl', codegen), {
    FIELD: field,
    FIELD_P: limbList(p),
    FIELD_ONE: limbList(MONT_R % p),
    FIELD_R2: limbList((MONT_R * MONT_R) % p),
    FIELD_NINV: negInverse16(p).toString(),
  });
}

export type GroupName = 'g1' | 'g2';

function curvePart(group: GroupName, codegen: CodegenOptions): string {
  const names = group === 'g1' ? { G: 'g1', F: 'fq', FT: 'Big' } : { G: 'g2', F: 'fq2', FT: 'Fq2' };
  const runners = curveRunners({ group: names.G, field: names.F, fieldType: names.FT }, codegen.curveCode);
  return instantiate(part('curve.wgsl', codegen), { ...names, REGS: REGISTER_COUNT, CURVE_RUNNERS: runners });
}

function groupParts(group: GroupName, codegen: CodegenOptions): string[] {
  const base = [part('bigint.wgsl', codegen), fieldPart('fq', codegen)];
  if (group === 'g2') base.push(part('fq2.wgsl', codegen));
  base.push(curvePart(group, codegen));
  return base;
}

export interface MsmShaderOptions {
  readonly workgroupSize: number;
  /** Entries one accumulation thread sums (K); each level shrinks the sequence by K/2. */
  readonly entriesPerThread: number;
}

export function buildMsmShader(group: GroupName, options: MsmShaderOptions, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  assert(options.entriesPerThread >= 4, 'entriesPerThread must be >= 4');
  const msm = instantiate(part('msm.wgsl', codegen), {
    G: group,
    F: group === 'g1' ? 'fq' : 'fq2',
    FT: group === 'g1' ? 'Big' : 'Fq2',
    WORKGROUP_SIZE: options.workgroupSize,
    ENTRIES_PER_THREAD: options.entriesPerThread,
  });
  return [...groupParts(group, codegen), msm].join('\n');
}

export function buildNttShader(options: { readonly workgroupSize: number }, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const ntt = instantiate(part('ntt.wgsl', codegen), { WORKGROUP_SIZE: options.workgroupSize });
  return [part('bigint.wgsl', codegen), fieldPart('fr', codegen), ntt].join('\n');
}

export function buildFieldTestShader(field: FieldName, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  return [part('bigint.wgsl', codegen), fieldPart(field, codegen), instantiate(part('field_test.wgsl', codegen), { FIELD: field })].join('\n');
}

/** Limb width of a field element in registers: 16 x 16 bits (what the MSM and NTT use) or 20 x 13 bits. */
export type LimbWidth = 16 | 13;

/** field13.wgsl instantiated as `<field>13` (fq13, fr13). */
export function field13Part(field: FieldName, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const p = MODULI[field];
  return instantiate(part('field13.wgsl', codegen), {
    FIELD: `${field}13`,
    FIELD_P: toLimbs13(p)
      .map((l) => `${l}u`)
      .join(', '),
    FIELD_NINV: negInverse13(p).toString(),
  });
}

/** field_kernels.wgsl (field_ops, mul_chain) over one limb width: the 13- vs 16-bit tests and bench. */
export function buildFieldKernelShader(field: FieldName, width: LimbWidth, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const kernels = (values: Record<string, string>): string => instantiate(part('field_kernels.wgsl', codegen), values);
  if (width === 16) {
    return [
      part('bigint.wgsl', codegen),
      fieldPart(field, codegen),
      kernels({ T: 'Big', F: field, FROM_WORDS: 'big_from_words', TO_WORDS: 'big_to_words' }),
    ].join('\n');
  }
  // bigint.wgsl for big_init/limb_bound, which keep the 13-bit limb loops rolled on CPU drivers too.
  return [
    part('bigint.wgsl', codegen),
    field13Part(field, codegen),
    kernels({ T: 'Big13', F: `${field}13`, FROM_WORDS: 'big13_from_words', TO_WORDS: 'big13_to_words' }),
  ].join('\n');
}
