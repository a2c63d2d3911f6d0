/**
 * Assembles WGSL modules from the parts in shaders/ and injects constants.
 * Templates use @NAME@ placeholders: field.wgsl is instantiated once per
 * field (fq, fr) and curve.wgsl once per group over its base field (g1 over
 * fq, g2 over fq2), so no field or curve code is duplicated in the sources.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../../errors/index.ts';
import { PACKAGE_ROOT } from '../../../runtime/package-root.ts';
import { CPU_DRIVER_CODEGEN, type CodegenOptions } from './codegen.ts';
import { REGISTER_COUNT, curveRunners } from './curve-programs.ts';
import { BN254_P, BN254_R, MONT_R, toLimbs16 } from './twins/field.ts';
import { LIMB13_COUNT, MONT_R13, negInverse13, toLimbs13 } from './twins/field13.ts';
import { NO_DIGIT, SENTINEL_KEY, SIGN_BIT } from './twins/msm.ts';

const SHADER_DIR = `${join(PACKAGE_ROOT, 'shaders')}/`;

const partCache = new Map<string, string>();
function rawPart(name: string): string {
  let text = partCache.get(name);
  if (text === undefined) {
    text = readFileSync(SHADER_DIR + name, 'utf8');
    partCache.set(name, text);
  }
  return text;
}

/**
 * Sets a shader text's limb-loop bounds for the codegen (see bigint.wgsl):
 * the 16-bit ones, the 13-bit ones (field13.wgsl: 20 limbs, limb_bound + 4
 * at run time) and the multiplications' loops for the mul option.
 */
export function applyLimbBounds(text: string, codegen: CodegenOptions): string {
  const bound16 = codegen.unrollLimbs ? '16u' : 'limb_bound';
  const bound13 = codegen.unrollLimbs ? `${LIMB13_COUNT}u` : 'limb_bound + 4u';
  const compact = codegen.mul === 'compact';
  return text
    .replaceAll('@LIMB_BOUND@', bound16)
    .replaceAll('@LIMB13_BOUND@', bound13)
    .replaceAll('@MUL_OUTER@', compact ? 'limb_bound' : bound16)
    .replaceAll('@MUL_INNER@', compact ? '16u' : bound16)
    .replaceAll('@MUL13_OUTER@', compact ? 'limb_bound + 4u' : bound13)
    .replaceAll('@MUL13_INNER@', compact ? `${LIMB13_COUNT}u` : bound13)
    .replaceAll('@FQ2_PRODUCTS@', codegen.unrollLimbs ? '3u' : 'limb_bound - 13u');
}

/** A part of shaders/ with its limb-loop bounds set for the codegen. */
export function part(name: string, codegen: CodegenOptions): string {
  return applyLimbBounds(rawPart(name), codegen);
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
  return instantiate([part('field.wgsl', codegen), rawPart('field-inv.wgsl')].join('\n'), {
    FIELD: field,
    T: 'Big',
    FIELD_P: limbList(p),
    FIELD_ONE: limbList(MONT_R % p),
    FIELD_R2: limbList((MONT_R * MONT_R) % p),
    FIELD_NINV: negInverse16(p).toString(),
    FIELD_PM2: limbList(p - 2n),
  });
}

function limbList13(value: bigint): string {
  return toLimbs13(value)
    .map((l) => `${l}u`)
    .join(', ');
}

/**
 * field13.wgsl instantiated with the prefix `prefix` over `field`'s modulus:
 * 'fq' for the curve and MSM code under the field option '13', fq13/fr13 in
 * the limb-width kernels (bench/experiments/field-width).
 */
export function field13Part(field: FieldName, prefix: string, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const p = MODULI[field];
  return instantiate([part('field13.wgsl', codegen), rawPart('field-inv.wgsl')].join('\n'), {
    FIELD: prefix,
    T: 'Big13',
    FIELD_P: limbList13(p),
    FIELD_NINV: negInverse13(p).toString(),
    FIELD_ONE: limbList13(MONT_R13 % p),
    FIELD_FROM_HOST: limbList13((MONT_R13 * 16n) % p),
    FIELD_TO_HOST: limbList13(MONT_R % p),
    FIELD_PM2: limbList(p - 2n),
  });
}

export type GroupName = 'g1' | 'g2';

/** The WGSL type of an Fq element under the codegen's field option. */
function fqType(codegen: CodegenOptions): string {
  return codegen.field === '13' ? 'Big13' : 'Big';
}

function curvePart(group: GroupName, codegen: CodegenOptions): string {
  const names = group === 'g1' ? { G: 'g1', F: 'fq', FT: fqType(codegen) } : { G: 'g2', F: 'fq2', FT: 'Fq2' };
  const runners = curveRunners({ group: names.G, field: names.F, fieldType: names.FT }, codegen.curveCode);
  return instantiate(part('curve.wgsl', codegen), { ...names, REGS: REGISTER_COUNT, CURVE_RUNNERS: runners });
}

/** bigint.wgsl (big_init, limb_bound: every build has it), the Fq of the field option, fq2 for G2, the curve. */
function groupParts(group: GroupName, codegen: CodegenOptions): string[] {
  const fq = codegen.field === '13' ? field13Part('fq', 'fq', codegen) : fieldPart('fq', codegen);
  const base = [part('bigint.wgsl', codegen), fq];
  if (group === 'g2') base.push(instantiate(part('fq2.wgsl', codegen), { FB: fqType(codegen) }));
  base.push(curvePart(group, codegen));
  return base;
}

/** A WGSL u32 literal in hex. */
function u32Literal(value: number): string {
  assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, () => `${value} is not a u32`);
  return `0x${value.toString(16)}u`;
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
    FT: group === 'g1' ? fqType(codegen) : 'Fq2',
    WORKGROUP_SIZE: options.workgroupSize,
    ENTRIES_PER_THREAD: options.entriesPerThread,
    SENTINEL_KEY: u32Literal(SENTINEL_KEY),
    NO_DIGIT: u32Literal(NO_DIGIT),
    SIGN_BIT: u32Literal(SIGN_BIT),
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
