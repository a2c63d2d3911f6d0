/**
 * Timed witness calculations of one implementation in a process of their
 * own, for bench/witness.ts, so neither implementation's garbage or
 * background compilation (V8 optimises a freshly compiled wasm module on
 * other threads) lands in the other's timings.
 *
 * - cold: the first call only: snarkjs's wtns.calculate, or ours
 *   (prepareWitnessCalculator + calculateWtns), from the wasm bytes in
 *   memory to the `.wtns` bytes, as a command-line run pays it.
 * - warm: one untimed call, then `runs` timed calls: snarkjs compiles the
 *   wasm in every call; ours reuses one prepared calculator, as a worker does.
 *
 * Module loading is done before any clock starts. Prints one JSON line:
 * { runs_ms, sha256 } (sha256 of the last `.wtns`, compared by the parent).
 *
 *   node --import tsx bench/lib/witness-child.ts <snarkjs|ours> <cold|warm> <runs> <wasm path> <input JSON>
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { snarkjs } from '../../src/prover/ffjs.ts';
import { prepareWitnessCalculator } from '../../src/prover/witness.ts';

export type WitnessImplementation = 'snarkjs' | 'ours';
export type WitnessCase = 'cold' | 'warm';

export interface ChildResult {
  readonly runs_ms: number[];
  readonly sha256: string;
}

/** snarkjs reads "123" strings as bigints itself; given as bigints, both sides read the same values. */
function inputAsBigInts(input: Record<string, string>): Record<string, bigint> {
  return Object.fromEntries(Object.entries(input).map(([name, value]) => [name, BigInt(value)]));
}

async function snarkjsWtns(wasm: Uint8Array, input: Record<string, string>): Promise<Uint8Array> {
  const out: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  await (await snarkjs()).wtns.calculate(inputAsBigInts(input), wasm, out);
  if (out.data === undefined) throw new Error('snarkjs wrote no witness');
  return out.data;
}

async function measure(
  implementation: WitnessImplementation,
  kind: WitnessCase,
  runs: number,
  wasm: Uint8Array,
  input: Record<string, string>,
): Promise<ChildResult> {
  await snarkjs();
  const runs_ms: number[] = [];
  let wtns: Uint8Array = new Uint8Array(0);
  if (implementation === 'snarkjs') {
    if (kind === 'warm') await snarkjsWtns(wasm, input);
    for (let run = 0; run < runs; run++) {
      const started_ms = performance.now();
      wtns = await snarkjsWtns(wasm, input);
      runs_ms.push(performance.now() - started_ms);
    }
  } else if (kind === 'cold') {
    const started_ms = performance.now();
    wtns = (await prepareWitnessCalculator(wasm)).calculateWtns(input, { inputLabel: 'bench input' });
    runs_ms.push(performance.now() - started_ms);
  } else {
    const calculator = await prepareWitnessCalculator(wasm);
    calculator.calculateWtns(input, { inputLabel: 'bench input' });
    for (let run = 0; run < runs; run++) {
      const started_ms = performance.now();
      wtns = calculator.calculateWtns(input, { inputLabel: 'bench input' });
      runs_ms.push(performance.now() - started_ms);
    }
  }
  return { runs_ms, sha256: createHash('sha256').update(wtns).digest('hex') };
}

async function main(): Promise<void> {
  const [implementation, kind, runsText, wasmPath, inputJson] = process.argv.slice(2);
  const runs = Number(runsText);
  if (
    (implementation !== 'snarkjs' && implementation !== 'ours') ||
    (kind !== 'cold' && kind !== 'warm') ||
    !Number.isSafeInteger(runs) ||
    runs < 1 ||
    (kind === 'cold' && runs !== 1) ||
    wasmPath === undefined ||
    inputJson === undefined
  ) {
    throw new Error('usage: witness-child.ts <snarkjs|ours> <cold|warm> <runs (1 when cold)> <wasm path> <input JSON>');
  }
  const wasm = new Uint8Array(await readFile(wasmPath));
  const result = await measure(implementation, kind, runs, wasm, JSON.parse(inputJson) as Record<string, string>);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      process.stderr.write(`witness-child: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
