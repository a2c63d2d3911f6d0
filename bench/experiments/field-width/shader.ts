/**
 * Builds the limb-width experiment's shaders: field13.wgsl (a Montgomery
 * field with 20 x 13-bit limbs and lazy carries) and field_kernels.wgsl
 * (field_ops, mul_chain) over either width, from this folder and the
 * production parts in shaders/ (bigint.wgsl, field.wgsl) through the one
 * shader builder, so constants are injected the same way.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CPU_DRIVER_CODEGEN, type CodegenOptions } from '../../../src/prover/backends/webgpu/codegen.ts';
import { applyLimbBounds, type FieldName, fieldPart, instantiate, part } from '../../../src/prover/backends/webgpu/shader-builder.ts';
import { BN254_P, BN254_R } from '../../../src/prover/backends/webgpu/twins/field.ts';
import { LIMB13_COUNT, negInverse13, toLimbs13 } from './field13-twin.ts';

/** Limb width of a field element in registers: 16 x 16 bits (what the MSM and NTT use) or 20 x 13 bits. */
export type LimbWidth = 16 | 13;

const MODULI: Record<FieldName, bigint> = { fq: BN254_P, fr: BN254_R };

/** A file of this folder with the limb-loop bounds set (the 13-bit loops stay rolled on CPU drivers like the 16-bit ones). */
function experimentPart(name: string, codegen: CodegenOptions): string {
  const text = readFileSync(fileURLToPath(new URL(name, import.meta.url)), 'utf8');
  return applyLimbBounds(text.replaceAll('@LIMB13_BOUND@', codegen.unrollLimbs ? `${LIMB13_COUNT}u` : 'limb_bound + 4u'), codegen);
}

/** field13.wgsl instantiated as `<field>13` (fq13, fr13). */
export function field13Part(field: FieldName, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const p = MODULI[field];
  return instantiate(experimentPart('field13.wgsl', codegen), {
    FIELD: `${field}13`,
    FIELD_P: toLimbs13(p)
      .map((l) => `${l}u`)
      .join(', '),
    FIELD_NINV: negInverse13(p).toString(),
  });
}

/** field_kernels.wgsl (field_ops, mul_chain) over one limb width: the 13- vs 16-bit tests and bench. */
export function buildFieldKernelShader(field: FieldName, width: LimbWidth, codegen: CodegenOptions = CPU_DRIVER_CODEGEN): string {
  const kernels = (values: Record<string, string>): string => instantiate(experimentPart('field_kernels.wgsl', codegen), values);
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
