/**
 * Builds the limb-width experiment's shaders: field_kernels.wgsl (field_ops,
 * mul_chain, this folder) over either width, with the production parts in
 * shaders/ (bigint.wgsl, field.wgsl, field13.wgsl: a Montgomery field with
 * 20 x 13-bit limbs and lazy carries) through the one shader builder, so
 * constants and the codegen's loop bounds (mul option included) are the
 * production ones.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CPU_DRIVER_CODEGEN, type CodegenOptions } from '../../../src/prover/backends/webgpu/codegen.ts';
import { applyLimbBounds, type FieldName, field13Part, fieldPart, instantiate, part } from '../../../src/prover/backends/webgpu/shader-builder.ts';

/** Limb width of a field element in registers: 16 x 16 bits (what the MSM and NTT use) or 20 x 13 bits. */
export type LimbWidth = 16 | 13;

/** A file of this folder with the limb-loop bounds set (the 13-bit loops stay rolled on CPU drivers like the 16-bit ones). */
function experimentPart(name: string, codegen: CodegenOptions): string {
  return applyLimbBounds(readFileSync(fileURLToPath(new URL(name, import.meta.url)), 'utf8'), codegen);
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
    field13Part(field, `${field}13`, codegen),
    kernels({ T: 'Big13', F: `${field}13`, FROM_WORDS: 'big13_from_words', TO_WORDS: 'big13_to_words' }),
  ].join('\n');
}
