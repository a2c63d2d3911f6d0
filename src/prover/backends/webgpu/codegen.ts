/**
 * Code-generation choices that depend on the adapter's shader compiler.
 *
 * CPU Vulkan drivers (Mesa's lavapipe/llvmpipe, SwiftShader) inline every
 * call and compile slowly, so there the limb loops stay rolled and the curve
 * formulas run through the small interpreter of curve.wgsl (one field
 * multiplication site per formula). GPU drivers compile the same formulas
 * as straight-line code with unrolled limb loops, which keeps the working
 * values in registers instead of an indexed private array.
 */
import { InvalidArgumentError } from '../../../errors/index.ts';

/** How the curve formulas of curve-programs.ts become WGSL. */
export type CurveCode = 'straight' | 'interpreted';
export const CURVE_CODES: readonly CurveCode[] = ['straight', 'interpreted'];

export interface CodegenOptions {
  /** Let the compiler unroll limb loops (GPU drivers) or keep them rolled (CPU drivers: compile time). */
  readonly unrollLimbs: boolean;
  /** Straight-line formulas (GPU drivers) or the table interpreter (CPU drivers: compile time). */
  readonly curveCode: CurveCode;
}

/** Rolled loops and interpreted formulas: compiles fastest everywhere; the builder's default. */
export const CPU_DRIVER_CODEGEN: CodegenOptions = { unrollLimbs: false, curveCode: 'interpreted' };

const CPU_DRIVER = /llvmpipe|lavapipe|swiftshader/i;

export function isCpuDriver(adapterDescription: string): boolean {
  return CPU_DRIVER.test(adapterDescription);
}

export function parseCurveCode(value: string, source: string): CurveCode {
  if ((CURVE_CODES as readonly string[]).includes(value)) return value as CurveCode;
  throw new InvalidArgumentError(`${source} must be one of ${CURVE_CODES.join(', ')}, got '${value}'`);
}

/** Curve code requested through ZKP_WEBGPU_CURVE_CODE, if any. */
export function curveCodeFromEnv(env: NodeJS.ProcessEnv = process.env): CurveCode | undefined {
  const value = env.ZKP_WEBGPU_CURVE_CODE;
  return value === undefined || value === '' ? undefined : parseCurveCode(value, 'ZKP_WEBGPU_CURVE_CODE');
}

/** The adapter's defaults, with the curve code overridden when one is requested. */
export function chooseCodegen(adapterDescription: string, curveCode?: CurveCode): CodegenOptions {
  const cpu = isCpuDriver(adapterDescription);
  return { unrollLimbs: !cpu, curveCode: curveCode ?? (cpu ? 'interpreted' : 'straight') };
}

/** Distinguishes pipelines compiled from different code in one device's cache. */
export function codegenKey(codegen: CodegenOptions): string {
  return `${codegen.unrollLimbs ? 'unrolled' : 'rolled'}-${codegen.curveCode}`;
}
