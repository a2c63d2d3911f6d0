/**
 * The main job end to end on this machine: build (or reuse) a test circuit,
 * then prove it with the `zkp` CLI on the default backend (native when the
 * addon is built) and verify the proof with snarkjs. Output lands in
 * demo-out/ (gitignored). Usage: npm run demo [-- --circuit mulchain|bits|manypublic]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_CIRCUITS, buildCircuit } from './build-circuits.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = join(ROOT, 'demo-out');

function circuitName(argv: readonly string[]): string {
  const flag = argv.indexOf('--circuit');
  const name = flag >= 0 ? argv[flag + 1] : 'mulchain';
  if (!name || !TEST_CIRCUITS.some((spec) => spec.name === name)) {
    const known = TEST_CIRCUITS.map((spec) => spec.name).join(', ');
    throw new Error(`demo: unknown circuit '${name ?? ''}'; choose one of ${known}`);
  }
  return name;
}

/** A fixed, valid input for each test circuit (see circuits/src/*.circom). */
function demoInput(name: string): Record<string, unknown> {
  switch (name) {
    case 'mulchain':
      return { a: '3', b: '11' };
    case 'bits':
      return { values: Array.from({ length: 13 }, (_, i) => (123456789n * BigInt(i + 1) ** 20n).toString()) };
    case 'manypublic':
      return { pub: Array.from({ length: 72 }, (_, i) => String(i * 7 + 1)), secret: '42' };
    default:
      throw new Error(`demo: no input for circuit ${name}`);
  }
}

async function main(): Promise<void> {
  const name = circuitName(process.argv.slice(2));
  const spec = TEST_CIRCUITS.find((candidate) => candidate.name === name)!;
  console.log(`demo: building circuit '${name}' (cached after the first run)`);
  const circuit = await buildCircuit(spec, (line) => console.log(`  ${line}`));

  mkdirSync(OUT_DIR, { recursive: true });
  const inputPath = join(OUT_DIR, `${name}.input.json`);
  const proofPath = join(OUT_DIR, `${name}.proof.json`);
  const publicPath = join(OUT_DIR, `${name}.public.json`);
  writeFileSync(inputPath, JSON.stringify(demoInput(name), null, 2));

  const zkp = join(ROOT, 'bin', 'zkp.js');
  const run = (args: string[]) => execFileSync(process.execPath, [zkp, ...args], { stdio: 'inherit' });
  console.log(`demo: zkp fullprove --verify`);
  run(['fullprove', inputPath, circuit.wasm, circuit.zkey, proofPath, publicPath, '--verify']);
  console.log(`demo: zkp verify (an independent check of the written files)`);
  run(['verify', circuit.vkey, publicPath, proofPath]);
  console.log(`demo: done; proof in ${proofPath}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
