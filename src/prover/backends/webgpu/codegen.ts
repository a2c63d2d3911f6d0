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

/**
 * The Fq arithmetic the curve (G1, G2 through fq2) and MSM kernels are built
 * with: '16' = shaders/field.wgsl (16 x 16-bit limbs, R = 2^256), '13' =
 * shaders/field13.wgsl (20 x 13-bit limbs with lazy carries, R = 2^260,
 * converted to and from the 16-bit form where bases are loaded and the
 * result is stored, so buffers and host code are the same). The NTT stays
 * on the 16-bit Fr field.
 */
export type FieldWidth = '16' | '13';
export const FIELD_WIDTHS: readonly FieldWidth[] = ['16', '13'];

/**
 * The shape of the field multiplication: 'straight' = both limb loops bounded
 * by the codegen's limb bound (unrolled into straight-line code on GPU
 * drivers, rolled on CPU drivers like every limb loop there); 'compact' = the
 * outer loop always rolled (a run-time bound) and the inner loops always
 * unrolled (constant bounds): about a sixteenth of the code per call site.
 */
export type MulCode = 'straight' | 'compact';
export const MUL_CODES: readonly MulCode[] = ['straight', 'compact'];

export interface CodegenOptions {
  /** Let the compiler unroll limb loops (GPU drivers) or keep them rolled (CPU drivers: compile time). */
  readonly unrollLimbs: boolean;
  /** Straight-line formulas (GPU drivers) or the table interpreter (CPU drivers: compile time). */
  readonly curveCode: CurveCode;
  /** Fq arithmetic of the curve and MSM kernels; absent: '16'. */
  readonly field?: FieldWidth;
  /** Field multiplication shape; absent: 'straight'. */
  readonly mul?: MulCode;
}

/** The field and multiply options together (backend options, environment). */
export interface ArithmeticOptions {
  readonly field?: FieldWidth;
  readonly mul?: MulCode;
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

function oneOf<T extends string>(allowed: readonly T[], value: unknown, source: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidArgumentError(`${source} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

export function parseFieldWidth(value: unknown, source: string): FieldWidth {
  return oneOf(FIELD_WIDTHS, value, source);
}

export function parseMulCode(value: unknown, source: string): MulCode {
  return oneOf(MUL_CODES, value, source);
}

/**
 * The arithmetic options: each backend option (checked, since JavaScript
 * callers pass anything) overrides its environment variable,
 * ZKP_WEBGPU_FIELD (16 or 13) and ZKP_WEBGPU_MUL (straight or compact);
 * neither given: the defaults, 16-bit and straight.
 */
export function arithmeticOptions(options: ArithmeticOptions = {}, env: NodeJS.ProcessEnv = process.env): Required<ArithmeticOptions> {
  const fromEnv = <T extends string>(name: string, parse: (v: unknown, s: string) => T): T | undefined => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : parse(value, name);
  };
  const field =
    options.field === undefined ? (fromEnv('ZKP_WEBGPU_FIELD', parseFieldWidth) ?? '16') : parseFieldWidth(options.field, "webgpu backend option 'field'");
  const mul = options.mul === undefined ? (fromEnv('ZKP_WEBGPU_MUL', parseMulCode) ?? 'straight') : parseMulCode(options.mul, "webgpu backend option 'mul'");
  return { field, mul };
}

/** Curve code requested through ZKP_WEBGPU_CURVE_CODE, if any. */
export function curveCodeFromEnv(env: NodeJS.ProcessEnv = process.env): CurveCode | undefined {
  const value = env.ZKP_WEBGPU_CURVE_CODE;
  return value === undefined || value === '' ? undefined : parseCurveCode(value, 'ZKP_WEBGPU_CURVE_CODE');
}

/** The adapter's defaults, with the curve code overridden when one is requested, and the arithmetic options when given (absent: 16-bit, straight). */
export function chooseCodegen(adapterDescription: string, curveCode?: CurveCode, arithmetic: ArithmeticOptions = {}): CodegenOptions {
  const cpu = isCpuDriver(adapterDescription);
  return {
    unrollLimbs: !cpu,
    curveCode: curveCode ?? (cpu ? 'interpreted' : 'straight'),
    ...(arithmetic.field === undefined ? {} : { field: arithmetic.field }),
    ...(arithmetic.mul === undefined ? {} : { mul: arithmetic.mul }),
  };
}

/** Distinguishes pipelines compiled from different code in one device's cache (the arithmetic too, so variants coexist in one process). */
export function codegenKey(codegen: CodegenOptions): string {
  return `${codegen.unrollLimbs ? 'unrolled' : 'rolled'}-${codegen.curveCode}-f${codegen.field ?? '16'}-${codegen.mul ?? 'straight'}`;
}
