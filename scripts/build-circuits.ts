/**
 * Builds the test circuits (and, on request, the bench circuit) into
 * circuits/build/<name>/: circuit.r1cs, circuit.sym, circuit.wasm, circuit.zkey,
 * verification_key.json. Each build is cached by a hash of its sources and
 * settings (stamp.json); a build is skipped when the stamp matches and the
 * outputs exist. Powers of Tau files are cached in circuits/cache/.
 *
 * With `{ key: 'dev' }` the proving key comes from src/setup/dev-setup.ts
 * (known, INSECURE secrets; seconds instead of a Powers of Tau's tens of
 * minutes) and the build goes to circuits/build/dev-key/<name>/: for benches,
 * whose timings do not depend on how the key was made.
 *
 * Usage: npm run circuits                 # the test circuits
 *        npm run circuits -- --bench 16   # also the 2^16 bench circuit
 *
 * All randomness here is local and throwaway: these keys are for tests and
 * benchmarks only, never for production.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseBinFile } from '../src/prover/io/binfile.ts';
import { PACKAGE_ROOT } from '../src/runtime/package-root.ts';

const run = promisify(execFile);
const ROOT = PACKAGE_ROOT;
const SOURCES_DIR = join(ROOT, 'circuits', 'src');
const BUILD_DIR = join(ROOT, 'circuits', 'build');
const CACHE_DIR = join(ROOT, 'circuits', 'cache');
/** Circuits with an INSECURE development key (src/setup/dev-setup.ts), kept apart from the Powers of Tau builds. */
export const DEV_KEY_DIR = join(BUILD_DIR, 'dev-key');
const NODE_MODULES = join(ROOT, 'node_modules');
const CIRCOM = join(ROOT, 'node_modules', '.bin', 'circom2');
const SNARKJS_CLI = join(ROOT, 'node_modules', 'snarkjs', 'build', 'cli.cjs');
/** Bumped when the build steps change, so old caches are rebuilt. */
const BUILD_RECIPE_VERSION = 2;
const LOCK_STALE_MS = 60 * 60 * 1000;
const LOCK_PID_GRACE_MS = 10_000;

export interface CircuitSpec {
  readonly name: string;
  /** The main circom source (path relative to circuits/src, or generated text). */
  readonly mainSource: { readonly file: string } | { readonly text: string };
  /** Folders under circuits/src, besides lib/, whose files the main source includes (part of the cache key). */
  readonly sourceDirs?: readonly string[];
}

/** How the proving key is made: a local Powers of Tau and snarkjs (slow), or src/setup/dev-setup.ts (fast, INSECURE). */
export type KeyKind = 'ptau' | 'dev';

export interface BuildOptions {
  /** Default 'ptau'. */
  readonly key?: KeyKind;
}

export interface BuiltCircuit {
  readonly name: string;
  readonly dir: string;
  readonly r1cs: string;
  readonly sym: string;
  readonly wasm: string;
  readonly zkey: string;
  readonly vkey: string;
  readonly nConstraints: number;
  readonly nPublic: number;
  readonly power: number;
}

export const TEST_CIRCUITS: readonly CircuitSpec[] = [
  { name: 'mulchain', mainSource: { file: 'mulchain.circom' } },
  { name: 'bits', mainSource: { file: 'bits.circom' } },
  { name: 'manypublic', mainSource: { file: 'manypublic.circom' } },
];

/** The bench circuit: a multiplication chain sized so the domain is exactly 2^log2n. */
export function benchCircuitSpec(log2n: number): CircuitSpec {
  if (!Number.isInteger(log2n) || log2n < 4 || log2n > 22) throw new Error(`bench log2n must be an integer in 4..22, got ${log2n}`);
  // Rows = constraints + public inputs/outputs (2) + 1; stay just under 2^log2n.
  const steps = 2 ** log2n - 2 - 1 - 8;
  return {
    name: `bench_${log2n}`,
    mainSource: { text: `pragma circom 2.1.0;\ninclude "lib/mulchain.circom";\ncomponent main { public [a] } = MulChain(${steps});\n` },
  };
}

type Log = (line: string) => void;

/** True when a Powers of Tau for 2^power is cached, so the ordinary (ptau) build of a circuit of that domain is cheap. */
export function ptauIsCached(power: number): boolean {
  return existsSync(join(CACHE_DIR, `pot${power}_final.ptau`));
}

export async function buildCircuit(spec: CircuitSpec, log: Log = () => {}, options: BuildOptions = {}): Promise<BuiltCircuit> {
  const keyKind = options.key ?? 'ptau';
  const parent = keyKind === 'dev' ? DEV_KEY_DIR : BUILD_DIR;
  const dir = join(parent, spec.name);
  const outputs = {
    r1cs: join(dir, 'circuit.r1cs'),
    sym: join(dir, 'circuit.sym'),
    wasm: join(dir, 'circuit.wasm'),
    zkey: join(dir, 'circuit.zkey'),
    vkey: join(dir, 'verification_key.json'),
  };
  const mainText = await mainSourceText(spec);
  const key = await sourcesHash(mainText, spec, keyKind);
  const stampPath = join(dir, 'stamp.json');

  const cached = await readStamp(stampPath, key, Object.values(outputs));
  if (cached) return { name: spec.name, dir, ...outputs, ...cached };

  return withLock(join(parent, `${spec.name}.lock`), async () => {
    const again = await readStamp(stampPath, key, Object.values(outputs));
    if (again) return { name: spec.name, dir, ...outputs, ...again };

    log(`building circuit ${spec.name}${keyKind === 'dev' ? ' with an INSECURE development key' : ''}`);
    const work = join(parent, `${spec.name}.tmp-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      const compileStarted_ms = performance.now();
      await compileCircom(spec.name, mainText, work, { r1cs: true });
      const info = await readR1csHeader(join(work, 'circuit.r1cs'));
      const power = Math.max(1, Math.ceil(Math.log2(info.nConstraints + info.nPublic + 1)));
      log(`  ${info.nConstraints} constraints, ${info.nPublic} public, domain 2^${power} (circom2: ${seconds(compileStarted_ms)} s)`);
      if (keyKind === 'dev') await makeDevKey(work, log);
      else await makePtauKey(spec.name, work, power, log);
      const stamp = { key, nConstraints: info.nConstraints, nPublic: info.nPublic, power };
      await writeFile(join(work, 'stamp.json'), JSON.stringify(stamp, null, 2));
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
      log(`  built ${spec.name}`);
      return { name: spec.name, dir, ...outputs, nConstraints: info.nConstraints, nPublic: info.nPublic, power };
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw error;
    }
  });
}

function seconds(started_ms: number): string {
  return ((performance.now() - started_ms) / 1000).toFixed(1);
}

/** circuit.zkey and verification_key.json in `work` from src/setup/dev-setup.ts: INSECURE, for benches. */
async function makeDevKey(work: string, log: Log): Promise<void> {
  // Imported here: the ptau builds (and src/dev/sample.ts, which imports this module) need neither the addon nor snarkjs's loader.
  const { devSetup } = await import('../src/setup/dev-setup.ts');
  const result = await devSetup({
    r1csPath: join(work, 'circuit.r1cs'),
    zkeyPath: join(work, 'circuit.zkey'),
    vkeyPath: join(work, 'verification_key.json'),
  });
  log(`  INSECURE development key in ${(result.duration_ms / 1000).toFixed(1)} s`);
}

/** circuit.zkey and verification_key.json in `work` from a local Powers of Tau, snarkjs's setup and one contribution. */
async function makePtauKey(name: string, work: string, power: number, log: Log): Promise<void> {
  const ptau = await ensurePtau(power, log);
  await snarkjs(['groth16', 'setup', join(work, 'circuit.r1cs'), ptau, join(work, 'circuit_0000.zkey')]);
  await snarkjs([
    'zkey',
    'contribute',
    join(work, 'circuit_0000.zkey'),
    join(work, 'circuit.zkey'),
    `--name=local ${name}`,
    `-e=${randomBytes(32).toString('hex')}`,
  ]);
  await rm(join(work, 'circuit_0000.zkey'));
  await snarkjs(['zkey', 'export', 'verificationkey', join(work, 'circuit.zkey'), join(work, 'verification_key.json')]);
}

/** circom's outputs for `mainText` in `work`, named circuit.sym, circuit.wasm (and circuit.r1cs when asked). */
async function compileCircom(name: string, mainText: string, work: string, options: { readonly r1cs: boolean }): Promise<void> {
  // The main file lives in circuits/src so its includes resolve the same way for generated sources.
  const base = `.generated-${name}-${process.pid}`;
  const mainPath = join(SOURCES_DIR, `${base}.circom`);
  await writeFile(mainPath, mainText);
  try {
    // circom2 (WASI) sees only the folders under its working directory: run it from the package root.
    // node_modules on the include path resolves `include "circomlib/circuits/...";`.
    await run(CIRCOM, [mainPath, ...(options.r1cs ? ['--r1cs'] : []), '--wasm', '--sym', '-o', work, '-l', SOURCES_DIR, '-l', NODE_MODULES], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
  } finally {
    await rm(mainPath, { force: true });
  }
  if (options.r1cs) await rename(join(work, `${base}.r1cs`), join(work, 'circuit.r1cs'));
  await rename(join(work, `${base}.sym`), join(work, 'circuit.sym'));
  await rename(join(work, `${base}_js`, `${base}.wasm`), join(work, 'circuit.wasm'));
  await rm(join(work, `${base}_js`), { recursive: true, force: true });
}

async function mainSourceText(spec: CircuitSpec): Promise<string> {
  return 'file' in spec.mainSource ? readFile(join(SOURCES_DIR, spec.mainSource.file), 'utf8') : spec.mainSource.text;
}

/** A circuit's witness generator alone: circuit.wasm and circuit.sym. */
export interface BuiltWasm {
  readonly name: string;
  readonly dir: string;
  readonly wasm: string;
  readonly sym: string;
}

/**
 * The witness generator of `spec` without a proving key (no Powers of Tau,
 * no setup), for tests and benches of witness calculation: a cached full
 * build of the same sources when there is one, else a wasm-only build cached
 * in circuits/build/wasm-only/<name>/ under the same stamp rules.
 */
export async function buildCircuitWasm(spec: CircuitSpec, log: Log = () => {}): Promise<BuiltWasm> {
  const key = await sourcesHash(await mainSourceText(spec), spec, 'ptau');
  const full = join(BUILD_DIR, spec.name);
  const fullOutputs = { wasm: join(full, 'circuit.wasm'), sym: join(full, 'circuit.sym') };
  if (await readStamp(join(full, 'stamp.json'), key, Object.values(fullOutputs))) return { name: spec.name, dir: full, ...fullOutputs };

  const dir = join(BUILD_DIR, 'wasm-only', spec.name);
  const outputs = { wasm: join(dir, 'circuit.wasm'), sym: join(dir, 'circuit.sym') };
  const stampPath = join(dir, 'stamp.json');
  const isCached = async (): Promise<boolean> =>
    Object.values(outputs).every((output) => existsSync(output)) &&
    (await readFile(stampPath, 'utf8')
      .then((text) => (JSON.parse(text) as { key?: unknown }).key === key)
      .catch(() => false));
  if (await isCached()) return { name: spec.name, dir, ...outputs };
  return withLock(join(BUILD_DIR, 'wasm-only', `${spec.name}.lock`), async () => {
    if (await isCached()) return { name: spec.name, dir, ...outputs };
    log(`compiling the witness generator of ${spec.name}`);
    const work = join(BUILD_DIR, 'wasm-only', `${spec.name}.tmp-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await compileCircom(spec.name, await mainSourceText(spec), work, { r1cs: false });
    await writeFile(join(work, 'stamp.json'), JSON.stringify({ key }, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
    return { name: spec.name, dir, ...outputs };
  });
}

export async function buildTestCircuits(log: Log = () => {}): Promise<Map<string, BuiltCircuit>> {
  const built = new Map<string, BuiltCircuit>();
  for (const spec of TEST_CIRCUITS) built.set(spec.name, await buildCircuit(spec, log));
  return built;
}

/** A prepared (phase 2) Powers of Tau at exactly `power`, cached. */
export async function ensurePtau(power: number, log: Log = () => {}): Promise<string> {
  const final = join(CACHE_DIR, `pot${power}_final.ptau`);
  if (existsSync(final)) return final;
  await mkdir(CACHE_DIR, { recursive: true });
  return withLock(join(CACHE_DIR, `pot${power}.lock`), async () => {
    if (existsSync(final)) return final;
    log(`  making a local Powers of Tau at power ${power} (cached in circuits/cache; at power 16 this takes tens of minutes on 2 cores)`);
    // Three snarkjs steps, the last one by far the longest: say when each ends.
    const step = async (label: string, args: string[]): Promise<void> => {
      const started_ms = performance.now();
      log(`    ptau ${power}: ${label}...`);
      await snarkjs(args);
      log(`    ptau ${power}: ${label} done in ${((performance.now() - started_ms) / 1000).toFixed(0)} s`);
    };
    const fresh = join(CACHE_DIR, `pot${power}_0000.ptau.tmp-${process.pid}`);
    const contributed = join(CACHE_DIR, `pot${power}_0001.ptau.tmp-${process.pid}`);
    const prepared = `${final}.tmp-${process.pid}`;
    await step('new accumulator', ['powersoftau', 'new', 'bn128', String(power), fresh]);
    // Always contribute: a fresh accumulator has tau = 1, where every Lagrange
    // basis but one vanishes, so most zkey bases would be the point at
    // infinity and proofs (and benchmarks) would be degenerate.
    await step('contribution', ['powersoftau', 'contribute', fresh, contributed, '--name=local ptau', `-e=${randomBytes(32).toString('hex')}`]);
    await step('phase 2 preparation (the long step)', ['powersoftau', 'prepare', 'phase2', contributed, prepared]);
    await rename(prepared, final);
    await rm(fresh, { force: true });
    await rm(contributed, { force: true });
    return final;
  });
}

async function snarkjs(args: string[]): Promise<void> {
  await run(process.execPath, [SNARKJS_CLI, ...args], { maxBuffer: 64 << 20 });
}

/**
 * The cache key: the recipe, the main source, every file of circuits/src/lib
 * and of the spec's sourceDirs, circomlib's version when the source includes
 * it, circom2's version, and (for dev keys only, so ptau keys of older
 * builds stay valid) the key kind.
 */
async function sourcesHash(mainText: string, spec: CircuitSpec, keyKind: KeyKind): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`recipe ${BUILD_RECIPE_VERSION}\n`);
  if (keyKind === 'dev') hash.update('key dev\n');
  hash.update(mainText);
  for (const sourceDir of ['lib', ...(spec.sourceDirs ?? [])]) {
    const dir = join(SOURCES_DIR, sourceDir);
    for (const file of (await readdir(dir)).sort()) {
      hash.update(`\n--- ${sourceDir === 'lib' ? '' : `${sourceDir}/`}${file}\n`);
      hash.update(await readFile(join(dir, file)));
    }
  }
  if (mainText.includes('circomlib/')) hash.update(`\ncircomlib ${await packageVersion('circomlib')}`);
  hash.update(`\ncircom2 ${await packageVersion('circom2')}`);
  return hash.digest('hex');
}

async function packageVersion(name: string): Promise<string> {
  return (JSON.parse(await readFile(join(NODE_MODULES, name, 'package.json'), 'utf8')) as { version: string }).version;
}

interface Stamp {
  nConstraints: number;
  nPublic: number;
  power: number;
}

async function readStamp(path: string, key: string, outputs: string[]): Promise<Stamp | null> {
  if (!existsSync(path) || !outputs.every((output) => existsSync(output))) return null;
  try {
    const stamp = JSON.parse(await readFile(path, 'utf8')) as Stamp & { key: string };
    return stamp.key === key ? { nConstraints: stamp.nConstraints, nPublic: stamp.nPublic, power: stamp.power } : null;
  } catch {
    return null;
  }
}

/** The counts of an .r1cs file's header section. */
export interface R1csHeader {
  readonly nConstraints: number;
  /** Public outputs and inputs (the constant 1 not counted). */
  readonly nPublic: number;
  /** Wires, the constant 1 included. */
  readonly nWires: number;
}

export async function readR1csHeader(path: string): Promise<R1csHeader> {
  const file = parseBinFile(await readFile(path), path, { magic: 'r1cs', versions: [1] });
  const header = file.sections.find((section) => section.type === 1);
  if (!header) throw new Error(`${path}: no header section`);
  const view = new DataView(file.bytes.buffer, file.bytes.byteOffset + header.offset, header.size);
  const n8 = view.getUint32(0, true);

  const nWires = view.getUint32(4 + n8, true);
  const nPubOut = view.getUint32(4 + n8 + 4, true);
  const nPubIn = view.getUint32(4 + n8 + 8, true);
  const nConstraints = view.getUint32(4 + n8 + 4 * 4 + 8, true);
  return { nConstraints, nPublic: nPubOut + nPubIn, nWires };
}

/**
 * A cross-process lock (mkdir is atomic), because several test files may ask
 * for the same circuit at once. The holder writes its pid into the lock; a
 * lock whose holder is gone (killed mid-build) is taken over at once, one
 * without a pid after LOCK_PID_GRACE_MS, any after LOCK_STALE_MS.
 */
async function withLock<T>(lockDir: string, body: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockDir), { recursive: true });
  const pidFile = join(lockDir, 'pid');
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(pidFile, String(process.pid));
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      if (await lockIsStale(lockDir, pidFile)) await rm(lockDir, { recursive: true, force: true });
      else await new Promise((done) => setTimeout(done, 500));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function lockIsStale(lockDir: string, pidFile: string): Promise<boolean> {
  const info = await stat(lockDir).catch(() => null);
  if (info === null) return false;
  const age_ms = Date.now() - info.mtimeMs;
  if (age_ms > LOCK_STALE_MS) return true;
  const holder = Number(await readFile(pidFile, 'utf8').catch(() => ''));
  if (!Number.isInteger(holder) || holder <= 0) return age_ms > LOCK_PID_GRACE_MS;
  try {
    process.kill(holder, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const log: Log = (line) => process.stderr.write(`${line}\n`);
  const built = [...(await buildTestCircuits(log)).values()];
  const benchAt = args.indexOf('--bench');
  if (benchAt >= 0) built.push(await buildCircuit(benchCircuitSpec(Number(args[benchAt + 1] ?? '16')), log));
  for (const circuit of built)
    console.log(`${circuit.name}: ${circuit.nConstraints} constraints, ${circuit.nPublic} public, 2^${circuit.power} -> ${circuit.dir}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`build-circuits: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
