/**
 * Shader code generation without a device: the adapter defaults and the
 * ZKP_WEBGPU_CURVE_CODE override, and the straight-line runners emitted from
 * the curve-program tables compute what the tables compute (the WGSL text is
 * evaluated statement by statement over the Fq twin).
 */
import { describe, expect, it } from 'vitest';
import { chooseCodegen, curveCodeFromEnv } from '../../src/prover/backends/webgpu/codegen.ts';
import {
  ADD_PART1,
  ADD_PART2,
  DOUBLE,
  MADD_PART1,
  MADD_PART2,
  REGISTER_COUNT,
  curveRunners,
  runProgram,
} from '../../src/prover/backends/webgpu/curve-programs.ts';
import { buildMsmShader } from '../../src/prover/backends/webgpu/shader-builder.ts';
import { BN254_P, Fq } from '../../src/prover/backends/webgpu/twins/field.ts';
import { Rng, testSeed } from './helpers.ts';

describe('codegen choice', () => {
  it('interprets on CPU drivers and runs straight-line code on GPUs', () => {
    expect(chooseCodegen('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)')).toEqual({ unrollLimbs: false, curveCode: 'interpreted' });
    expect(chooseCodegen('SwiftShader Device (Subzero)')).toEqual({ unrollLimbs: false, curveCode: 'interpreted' });
    expect(chooseCodegen('NVIDIA H100 80GB HBM3 nvidia')).toEqual({ unrollLimbs: true, curveCode: 'straight' });
    expect(chooseCodegen('llvmpipe', 'straight')).toEqual({ unrollLimbs: false, curveCode: 'straight' });
    expect(chooseCodegen('NVIDIA H100', 'interpreted').curveCode).toBe('interpreted');
  });

  it('reads ZKP_WEBGPU_CURVE_CODE and names a bad value', () => {
    expect(curveCodeFromEnv({})).toBeUndefined();
    expect(curveCodeFromEnv({ ZKP_WEBGPU_CURVE_CODE: 'straight' })).toBe('straight');
    expect(curveCodeFromEnv({ ZKP_WEBGPU_CURVE_CODE: 'interpreted' })).toBe('interpreted');
    expect(() => curveCodeFromEnv({ ZKP_WEBGPU_CURVE_CODE: 'fast' })).toThrow(/ZKP_WEBGPU_CURVE_CODE must be one of straight, interpreted, got 'fast'/);
  });

  it('keys the two forms apart in the shader text', () => {
    const straight = buildMsmShader('g1', { workgroupSize: 64, entriesPerThread: 32 }, { unrollLimbs: true, curveCode: 'straight' });
    const interpreted = buildMsmShader('g1', { workgroupSize: 64, entriesPerThread: 32 }, { unrollLimbs: false, curveCode: 'interpreted' });
    expect(straight).not.toContain('g1_PROG_DOUBLE');
    expect(interpreted).toContain('g1_PROG_DOUBLE');
    expect(buildMsmShader('g2', { workgroupSize: 64, entriesPerThread: 32 }, { unrollLimbs: true, curveCode: 'straight' })).toContain('k < 3u;');
  });
});

/** Evaluates one emitted straight-line runner over the Fq twin (only the statement forms the emitter writes). */
function evaluateRunner(wgsl: string, name: string, registers: bigint[]): bigint[] {
  const start = wgsl.indexOf(`fn g1_run_${name}(`);
  expect(start).toBeGreaterThanOrEqual(0);
  const body = wgsl.slice(wgsl.indexOf('{', start) + 1, wgsl.indexOf('\n}', start));
  const locals = new Map<string, bigint>();
  const value = (local: string): bigint => {
    const v = locals.get(local);
    if (v === undefined) throw new Error(`${name}: ${local} read before it is set`);
    return v;
  };
  const ops = { mul: (a: bigint, b: bigint) => Fq.montMul(a, b), add: (a: bigint, b: bigint) => Fq.add(a, b), sub: (a: bigint, b: bigint) => Fq.sub(a, b) };
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    if (line === '' || /^var r\d+: Big;$/.test(line)) continue;
    const load = /^var (r\d+) = \(\*regs\)\[(\d+)\];$/.exec(line);
    const op = /^(r\d+) = fq_(mul|add|sub)\((r\d+), (r\d+)\);$/.exec(line);
    const store = /^\(\*regs\)\[(\d+)\] = (r\d+);$/.exec(line);
    if (load !== null) locals.set(load[1]!, registers[Number(load[2])]!);
    else if (op !== null) locals.set(op[1]!, ops[op[2] as 'mul' | 'add' | 'sub'](value(op[3]!), value(op[4]!)));
    else if (store !== null) registers[Number(store[1])] = value(store[2]!);
    else throw new Error(`${name}: unexpected statement '${line}'`);
  }
  return registers;
}

describe('straight-line runners', () => {
  const rng = new Rng(testSeed('codegen'));
  const wgsl = curveRunners({ group: 'g1', field: 'fq', fieldType: 'Big' }, 'straight');
  const programs = { double: DOUBLE, add1: ADD_PART1, add2: ADD_PART2, madd1: MADD_PART1, madd2: MADD_PART2 };

  it.each(Object.keys(programs))('%s equals the table it was emitted from', (name) => {
    for (let trial = 0; trial < 5; trial++) {
      const edges = [0n, 1n, BN254_P - 1n];
      const registers = Array.from({ length: REGISTER_COUNT }, (_, i) => (trial === 0 ? edges[i % 3]! : rng.below(BN254_P)));
      const expected = runProgram(programs[name as keyof typeof programs], [...registers], {
        mul: (a, b) => Fq.montMul(a, b),
        add: (a, b) => Fq.add(a, b),
        sub: (a, b) => Fq.sub(a, b),
      });
      expect(evaluateRunner(wgsl, name, [...registers])).toEqual(expected);
    }
  });
});
