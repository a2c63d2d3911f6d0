/**
 * The Jacobian formulas of shaders/curve.wgsl as straight-line programs
 * over a register file: the one source of the formulas, emitted either as
 * a table run by a small interpreter loop in the shader (CPU drivers) or as
 * straight-line WGSL (GPU drivers), see curveRunners.
 *
 * Why: Mesa's lavapipe inlines every function call, so writing the
 * formulas as WGSL calls puts one copy of the field multiplication at every
 * call site; a G2 bucket kernel then took 265 s to compile. The interpreter
 * has one multiplication, one addition and one subtraction site per
 * formula, whatever the formula's length. Registers 0.. hold the inputs.
 */
import { assert } from '../../../errors/index.ts';
import type { CurveCode } from './codegen.ts';

type Op = 'mul' | 'add' | 'sub';
const OPCODE: Record<Op, number> = { mul: 0, add: 1, sub: 2 };
export const REGISTER_COUNT = 18;

/** One instruction: dst = a (op) b, registers by index. */
type Instruction = readonly [Op, number, number, number];

function encode(program: readonly Instruction[]): number[] {
  return program.map(([op, d, a, b]) => {
    for (const r of [d, a, b]) assert(r >= 0 && r < REGISTER_COUNT, `register ${r} out of range`);
    return OPCODE[op] | (d << 2) | (a << 7) | (b << 12);
  });
}

// dbl-2009-l (a = 0). In: X=0 Y=1 Z=2. Out: X3=9 Y3=10 Z3=11.
export const DOUBLE: readonly Instruction[] = [
  ['mul', 3, 0, 0], // A = X^2
  ['mul', 4, 1, 1], // B = Y^2
  ['mul', 5, 4, 4], // C = B^2
  ['add', 6, 0, 4], // X + B
  ['mul', 6, 6, 6],
  ['sub', 6, 6, 3],
  ['sub', 6, 6, 5],
  ['add', 6, 6, 6], // D = 2((X+B)^2 - A - C)
  ['add', 7, 3, 3],
  ['add', 7, 7, 3], // E = 3A
  ['mul', 8, 7, 7], // F = E^2
  ['sub', 9, 8, 6],
  ['sub', 9, 9, 6], // X3 = F - 2D
  ['sub', 10, 6, 9],
  ['mul', 10, 7, 10], // E(D - X3)
  ['add', 5, 5, 5],
  ['add', 5, 5, 5],
  ['add', 5, 5, 5], // 8C
  ['sub', 10, 10, 5], // Y3
  ['mul', 11, 1, 2],
  ['add', 11, 11, 11], // Z3 = 2YZ
];

// add-2007-bl, split where the shader checks H == 0 (P == ±Q).
// In: X1=0 Y1=1 Z1=2 X2=3 Y2=4 Z2=5. After part 1: H=12, S2-S1=13.
export const ADD_PART1: readonly Instruction[] = [
  ['mul', 6, 2, 2], // Z1Z1
  ['mul', 7, 5, 5], // Z2Z2
  ['mul', 8, 0, 7], // U1
  ['mul', 9, 3, 6], // U2
  ['mul', 10, 1, 5],
  ['mul', 10, 10, 7], // S1
  ['mul', 11, 4, 2],
  ['mul', 11, 11, 6], // S2
  ['sub', 12, 9, 8], // H
  ['sub', 13, 11, 10], // S2 - S1
];
// Out: X3=9 Y3=11 Z3=16.
export const ADD_PART2: readonly Instruction[] = [
  ['add', 14, 12, 12],
  ['mul', 14, 14, 14], // I = (2H)^2
  ['mul', 15, 12, 14], // J
  ['add', 13, 13, 13], // r
  ['mul', 8, 8, 14], // V = U1 I
  ['mul', 9, 13, 13],
  ['sub', 9, 9, 15],
  ['sub', 9, 9, 8],
  ['sub', 9, 9, 8], // X3 = r^2 - J - 2V
  ['sub', 11, 8, 9],
  ['mul', 11, 13, 11],
  ['mul', 10, 10, 15],
  ['add', 10, 10, 10],
  ['sub', 11, 11, 10], // Y3 = r(V - X3) - 2 S1 J
  ['add', 16, 2, 5],
  ['mul', 16, 16, 16],
  ['sub', 16, 16, 6],
  ['sub', 16, 16, 7],
  ['mul', 16, 16, 12], // Z3 = ((Z1+Z2)^2 - Z1Z1 - Z2Z2) H
];

// madd-2007-bl (Z2 = 1). In: X1=0 Y1=1 Z1=2 X2=3 Y2=4. After part 1: H=9, S2-Y1=10.
export const MADD_PART1: readonly Instruction[] = [
  ['mul', 6, 2, 2], // Z1Z1
  ['mul', 7, 3, 6], // U2
  ['mul', 8, 4, 2],
  ['mul', 8, 8, 6], // S2
  ['sub', 9, 7, 0], // H
  ['sub', 10, 8, 1], // S2 - Y1
];
// Out: X3=15 Y3=16 Z3=8.
export const MADD_PART2: readonly Instruction[] = [
  ['mul', 11, 9, 9], // HH
  ['add', 12, 11, 11],
  ['add', 12, 12, 12], // I = 4 HH
  ['mul', 13, 9, 12], // J
  ['add', 10, 10, 10], // r
  ['mul', 14, 0, 12], // V
  ['mul', 15, 10, 10],
  ['sub', 15, 15, 13],
  ['sub', 15, 15, 14],
  ['sub', 15, 15, 14], // X3
  ['sub', 16, 14, 15],
  ['mul', 16, 10, 16],
  ['mul', 17, 1, 13],
  ['add', 17, 17, 17],
  ['sub', 16, 16, 17], // Y3
  ['add', 8, 2, 9],
  ['mul', 8, 8, 8],
  ['sub', 8, 8, 6],
  ['sub', 8, 8, 11], // Z3 = (Z1 + H)^2 - Z1Z1 - HH
];

/** The runner functions curve.wgsl calls, by name suffix, and the program each runs. */
const RUNNERS: ReadonlyArray<readonly [string, readonly Instruction[]]> = [
  ['double', DOUBLE],
  ['add1', ADD_PART1],
  ['add2', ADD_PART2],
  ['madd1', MADD_PART1],
  ['madd2', MADD_PART2],
];

/** Names of one curve instance: group prefix (g1), base-field prefix (fq) and its WGSL type (Big). */
export interface CurveNames {
  readonly group: string;
  readonly field: string;
  readonly fieldType: string;
}

/**
 * WGSL of the five runner functions `<group>_run_<name>(regs)` for one
 * curve instance. Both forms read and write the same register file, so
 * curve.wgsl is one text for both:
 * - 'interpreted': the program as a u32 table stepped by `<group>_step`; the
 *   loop bound is not a compile-time constant (limb_bound), so the loop is
 *   not unrolled back into a copy per instruction.
 * - 'straight': one statement per instruction over local variables, which
 *   GPU compilers keep in registers.
 */
export function curveRunners(names: CurveNames, mode: CurveCode): string {
  const { group, field, fieldType } = names;
  const signature = (name: string): string => `fn ${group}_run_${name}(regs: ptr<function, array<${fieldType}, ${REGISTER_COUNT}>>)`;
  return RUNNERS.map(([name, program]) => {
    if (mode === 'interpreted') {
      const words = encode(program);
      const table = `const ${group}_PROG_${name.toUpperCase()} = array<u32, ${words.length}>(${words.map((w) => `${w}u`).join(', ')});`;
      return `${table}\n${signature(name)} {\n  var prog = ${group}_PROG_${name.toUpperCase()};\n  for (var pc = 0u; pc < ${words.length}u + limb_bound - 16u; pc++) { ${group}_step(regs, prog[pc]); }\n}\n`;
    }
    return `${signature(name)} {\n${straightLineBody(program, field, fieldType)}}\n`;
  }).join('\n');
}

function straightLineBody(program: readonly Instruction[], field: string, fieldType: string): string {
  encode(program); // register range checks
  const written = new Set<number>();
  const inputs = new Set<number>();
  for (const [, d, a, b] of program) {
    for (const r of [a, b]) if (!written.has(r)) inputs.add(r);
    written.add(d);
  }
  const used = [...new Set([...inputs, ...written])].sort((x, y) => x - y);
  const lines = used.map((r) => (inputs.has(r) ? `  var r${r} = (*regs)[${r}];` : `  var r${r}: ${fieldType};`));
  for (const [op, d, a, b] of program) lines.push(`  r${d} = ${field}_${op}(r${a}, r${b});`);
  for (const r of [...written].sort((x, y) => x - y)) lines.push(`  (*regs)[${r}] = r${r};`);
  return `${lines.join('\n')}\n`;
}

/** Runs a program on plain values (tests check the tables against the twin formulas). */
export function runProgram<T>(program: readonly Instruction[], registers: T[], field: { mul(a: T, b: T): T; add(a: T, b: T): T; sub(a: T, b: T): T }): T[] {
  for (const [op, d, a, b] of program) registers[d] = field[op](registers[a]!, registers[b]!);
  return registers;
}
