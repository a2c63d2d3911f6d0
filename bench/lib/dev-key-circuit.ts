/**
 * The bench circuit (scripts/build-circuits.ts benchCircuitSpec) with an
 * INSECURE development key from src/setup/dev-setup.ts instead of a Powers of
 * Tau: seconds instead of tens of minutes on 2 cores. Timing a prove does not
 * depend on how its key was made (the bases are as random either way), so a
 * benchmark may use it; a production key never comes from here.
 *
 * Cached in circuits/build/dev-key/<name>/, rebuilt when the circuit's
 * sources or circom2's version change (the stamp holds their hash).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BuiltCircuit, benchCircuitSpec } from '../../scripts/build-circuits.ts';
import { devSetup } from '../../src/setup/dev-setup.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCES_DIR = join(ROOT, 'circuits', 'src');
const DEV_KEY_DIR = join(ROOT, 'circuits', 'build', 'dev-key');
const CIRCOM = join(ROOT, 'node_modules', '.bin', 'circom2');
/** Bumped when the steps below change, so old caches are rebuilt. */
const RECIPE_VERSION = 1;

interface Stamp {
  readonly key: string;
  readonly nConstraints: number;
  readonly nPublic: number;
  readonly power: number;
}

/** True when a Powers of Tau for 2^power is cached, so the ordinary (ptau) build of the bench circuit is cheap. */
export function ptauIsCached(power: number): boolean {
  return existsSync(join(ROOT, 'circuits', 'cache', `pot${power}_final.ptau`));
}

export async function buildDevKeyBenchCircuit(log2n: number, log: (line: string) => void = () => {}): Promise<BuiltCircuit> {
  const spec = benchCircuitSpec(log2n);
  if (!('text' in spec.mainSource)) throw new Error(`bench circuit ${spec.name} has no generated source`);
  const mainText = spec.mainSource.text;
  const dir = join(DEV_KEY_DIR, spec.name);
  const outputs = {
    r1cs: join(dir, 'circuit.r1cs'),
    sym: join(dir, 'circuit.sym'),
    wasm: join(dir, 'circuit.wasm'),
    zkey: join(dir, 'circuit.zkey'),
    vkey: join(dir, 'verification_key.json'),
  };
  const key = await sourcesKey(mainText);
  const cached = await readStamp(join(dir, 'stamp.json'), key, Object.values(outputs));
  if (cached) return { name: spec.name, dir, ...outputs, nConstraints: cached.nConstraints, nPublic: cached.nPublic, power: cached.power };

  log(`building ${spec.name} with an INSECURE development key (circom2, then zkp setup --dev)`);
  const work = join(DEV_KEY_DIR, `${spec.name}.tmp-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    await writeFile(join(work, 'main.circom'), mainText);
    await run(CIRCOM, [join(work, 'main.circom'), '--r1cs', '--wasm', '--sym', '-o', work, '-l', SOURCES_DIR], { maxBuffer: 64 << 20 });
    await rename(join(work, 'main.r1cs'), join(work, 'circuit.r1cs'));
    await rename(join(work, 'main.sym'), join(work, 'circuit.sym'));
    await rename(join(work, 'main_js', 'main.wasm'), join(work, 'circuit.wasm'));
    await rm(join(work, 'main_js'), { recursive: true, force: true });
    await rm(join(work, 'main.circom'));
    const result = await devSetup({
      r1csPath: join(work, 'circuit.r1cs'),
      zkeyPath: join(work, 'circuit.zkey'),
      vkeyPath: join(work, 'verification_key.json'),
    });
    const power = Math.log2(result.domainSize);
    const stamp: Stamp = { key, nConstraints: result.nConstraints, nPublic: result.nPublic, power };
    await writeFile(join(work, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    log(`  built ${spec.name}: ${result.nConstraints} constraints, domain 2^${power}, key in ${(result.duration_ms / 1000).toFixed(1)} s`);
    return { name: spec.name, dir, ...outputs, nConstraints: result.nConstraints, nPublic: result.nPublic, power };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

async function sourcesKey(mainText: string): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`dev-key recipe ${RECIPE_VERSION}\n${mainText}`);
  const libDir = join(SOURCES_DIR, 'lib');
  for (const file of (await readdir(libDir)).sort()) hash.update(`\n--- ${file}\n`).update(await readFile(join(libDir, file)));
  const circom = JSON.parse(await readFile(join(ROOT, 'node_modules', 'circom2', 'package.json'), 'utf8')) as { version: string };
  return hash.update(`\ncircom2 ${circom.version}`).digest('hex');
}

async function readStamp(path: string, key: string, outputs: readonly string[]): Promise<Stamp | null> {
  if (!existsSync(path) || !outputs.every((output) => existsSync(output))) return null;
  try {
    const stamp = JSON.parse(await readFile(path, 'utf8')) as Stamp;
    return stamp.key === key ? stamp : null;
  } catch {
    return null;
  }
}
