/**
 * The compiled code: `npm run build` runs tsc (tsconfig.build.json) from src/
 * into dist/ (JavaScript, .d.ts, source maps; incremental, so a rebuild with
 * nothing changed takes a few seconds) and then writes dist/BUILT, whose
 * modification time says when dist/ last matched the sources. bin/zkp.js and
 * every process the project starts run dist/; the tests' global set-up
 * rebuilds it, and the benches refuse a dist/ older than the sources
 * (compiledEntry), so nothing runs a stale copy.
 *
 *   npx tsx scripts/build-dist.ts      (what `npm run build` runs)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../src/runtime/package-root.ts';

export const DIST_DIR = join(PACKAGE_ROOT, 'dist');
const STAMP = join(DIST_DIR, 'BUILT');
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** What the build reads besides src/ (build-circuits.ts is imported by src/dev/sample.ts). */
const OTHER_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'scripts/build-circuits.ts'];

/** tsc's exit status when it reported type errors but still wrote every output file. */
const TSC_ERRORS_OUTPUT_WRITTEN = 2;

/**
 * Compiles src/ into dist/; throws with tsc's output when it fails. With
 * `typeErrors: 'warn'` (the tests' set-up: `npm run typecheck` is where type
 * errors fail) an emitted build with type errors returns them instead.
 */
export function buildDist(options: { typeErrors: 'fail' | 'warn' } = { typeErrors: 'fail' }): string | null {
  let warning: string | null = null;
  try {
    execFileSync(process.execPath, [TSC, '-p', join(PACKAGE_ROOT, 'tsconfig.build.json')], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { status, stdout } = error as { status?: number; stdout?: string };
    const output = `tsc -p tsconfig.build.json failed (exit status ${status ?? 'none'})\n${stdout ?? ''}`;
    if (status !== TSC_ERRORS_OUTPUT_WRITTEN || options.typeErrors === 'fail') throw new Error(output);
    warning = output;
  }
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
  return warning;
}

function newestInput(dir: string, newest: { path: string; mtime_ms: number }): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newestInput(path, newest);
    else if (entry.name.endsWith('.ts')) {
      const mtime_ms = statSync(path).mtimeMs;
      if (mtime_ms > newest.mtime_ms) Object.assign(newest, { path, mtime_ms });
    }
  }
}

/** Why dist/ cannot be trusted (missing, or older than a source file), or null when it matches the sources. */
export function distStaleness(): string | null {
  if (!existsSync(STAMP)) return 'dist/ is missing or was never completely built';
  const newest = { path: '', mtime_ms: 0 };
  newestInput(join(PACKAGE_ROOT, 'src'), newest);
  for (const file of OTHER_INPUTS) {
    const mtime_ms = statSync(join(PACKAGE_ROOT, file)).mtimeMs;
    if (mtime_ms > newest.mtime_ms) Object.assign(newest, { path: join(PACKAGE_ROOT, file), mtime_ms });
  }
  if (newest.mtime_ms > statSync(STAMP).mtimeMs) return `${relative(PACKAGE_ROOT, newest.path)} changed after the last build`;
  return null;
}

/** The compiled file of a source module (`sourcePath` relative to the package root, e.g. src/raft/kv/kv-node-main.ts); throws, naming the fix, when dist/ is stale. */
export function compiledEntry(sourcePath: string): string {
  const entry = join(DIST_DIR, `${sourcePath.replace(/\.ts$/, '')}.js`);
  // Under vitest the global set-up (test/setup/build.ts) has just built dist/;
  // a source file edited while the tests run must not fail them.
  const stale = process.env.VITEST === undefined ? distStaleness() : existsSync(entry) ? null : `${relative(PACKAGE_ROOT, entry)} is missing`;
  if (stale !== null) throw new Error(`${stale}; run \`npm run build\``);
  return entry;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started_ms = performance.now();
  try {
    buildDist();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  console.log(`build: dist/ compiled in ${Math.round(performance.now() - started_ms)} ms`);
}
