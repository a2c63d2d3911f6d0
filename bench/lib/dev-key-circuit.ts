/**
 * The bench circuit (scripts/build-circuits.ts benchCircuitSpec) with an
 * INSECURE development key from src/setup/dev-setup.ts instead of a Powers of
 * Tau: seconds instead of tens of minutes on 2 cores. Timing a prove does not
 * depend on how its key was made (the bases are as random either way), so a
 * benchmark may use it; a production key never comes from here.
 *
 * The build itself is scripts/build-circuits.ts buildCircuit with
 * `{ key: 'dev' }`: cached in circuits/build/dev-key/<name>/, rebuilt when
 * the circuit's sources or circom2's version change.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BuiltCircuit, benchCircuitSpec, buildCircuit, DEV_KEY_DIR } from '../../scripts/build-circuits.ts';
import { stepsForDomain, syntheticR1cs, syntheticWtns } from '../device/synthetic-circuit.ts';

export { ptauIsCached } from '../../scripts/build-circuits.ts';

export function buildDevKeyBenchCircuit(log2n: number, log: (line: string) => void = () => {}): Promise<BuiltCircuit> {
  return buildCircuit(benchCircuitSpec(log2n), log, { key: 'dev' });
}

/** The bench circuit written without circom, with its development key; its witnesses come from `witness`. */
export interface SyntheticBenchCircuit {
  readonly name: string;
  readonly zkey: string;
  readonly vkey: string;
  readonly nConstraints: number;
  readonly power: number;
  /** MulChain's steps: the `steps` of bench/device/synthetic-circuit.ts. */
  readonly steps: number;
  /** The .wtns file for inputs a and b, byte for byte what circom's witness calculator writes. */
  witness(a: bigint, b: bigint): Uint8Array;
}

const SYNTHETIC_RECIPE = 'synthetic mulchain r1cs (bench/device/synthetic-circuit.ts) + dev setup, v1';

/**
 * The bench circuit of 2^log2n with its .r1cs written by
 * bench/device/synthetic-circuit.ts (byte for byte circom's, as
 * test/bench-device checks) instead of compiled: circom2 (WASI) takes more
 * than 20 minutes of CPU for 2^20 on this 2-core machine, the r1cs writer
 * seconds. Keyed by the INSECURE development setup (fixed secrets, so the
 * same r1cs always gets the same key) and cached in
 * circuits/build/dev-key/<name>-synthetic/, rebuilt when SYNTHETIC_RECIPE
 * changes.
 */
export async function buildSyntheticBenchCircuit(log2n: number, log: (line: string) => void = () => {}): Promise<SyntheticBenchCircuit> {
  const spec = benchCircuitSpec(log2n);
  const steps = stepsForDomain(log2n);
  const dir = join(DEV_KEY_DIR, `${spec.name}-synthetic`);
  const zkey = join(dir, 'circuit.zkey');
  const vkey = join(dir, 'verification_key.json');
  const stampPath = join(dir, 'stamp.json');
  const witness = (a: bigint, b: bigint): Uint8Array => syntheticWtns(steps, a, b);
  const made = { name: `${spec.name} (synthetic r1cs)`, zkey, vkey, nConstraints: steps, power: log2n, steps, witness };
  const stamp = await readFile(stampPath, 'utf8').catch(() => null);
  if (stamp !== null && existsSync(zkey) && existsSync(vkey) && (JSON.parse(stamp) as { recipe?: string }).recipe === SYNTHETIC_RECIPE) return made;

  log(`building ${spec.name} from a synthetic r1cs (no circom) with an INSECURE development key`);
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const r1csPath = join(work, 'circuit.r1cs');
    await writeFile(r1csPath, syntheticR1cs(steps));
    const { devSetup } = await import('../../src/setup/dev-setup.ts');
    const result = await devSetup({ r1csPath, zkeyPath: join(work, 'circuit.zkey'), vkeyPath: join(work, 'verification_key.json') });
    log(`  ${steps} constraints, INSECURE development key in ${(result.duration_ms / 1000).toFixed(1)} s`);
    await rm(r1csPath);
    await writeFile(join(work, 'stamp.json'), `${JSON.stringify({ recipe: SYNTHETIC_RECIPE, steps, log2n }, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  return made;
}
