/**
 * pack.sh's dependency step: which packages the compiled ladder (the .js
 * files under <stage>/dist) loads, copied into <stage>/node_modules, pruned
 * for a linux-x64 host. A package imported statically anywhere is copied
 * with its dependencies (package.json's, transitively); one reached only by
 * a dynamic import (snarkjs and ffjavascript, which the ladder never calls:
 * it verifies with the native verifier and makes its bases natively) is
 * left out and listed, so the manifest says what a run could not load.
 * webgpu keeps only Dawn's linux-x64 binary and the entry that loads it.
 *
 *   npx tsx bench/device/pack-modules.ts <stage dir>   (prints the JSON summary)
 */
import { builtinModules } from 'node:module';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/runtime/package-root.ts';

/** Packages copied in part: only these paths (relative to the package), and none of its dependencies. */
const PARTIAL: Record<string, readonly string[]> = {
  webgpu: ['package.json', 'index.js', 'LICENSE.md', 'dist/linux-x64/dawn.node'],
};

const STATIC_IMPORT = /(?:^|[\s;}])(?:import|export)\s*(?:[^'"();]*?\sfrom\s*)?['"]([^'"]+)['"]/g;
const DYNAMIC_IMPORT = /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  return builtinModules.includes(name) ? null : name;
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? jsFiles(path) : entry.name.endsWith('.js') ? [path] : [];
  });
}

function importsOf(files: readonly string[]): { statics: Set<string>; dynamics: Set<string> } {
  const statics = new Set<string>();
  const dynamics = new Set<string>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const [pattern, into] of [
      [STATIC_IMPORT, statics],
      [DYNAMIC_IMPORT, dynamics],
    ] as const) {
      for (const match of text.matchAll(pattern)) {
        const name = packageOf(match[1]!);
        if (name !== null) into.add(name);
      }
    }
  }
  for (const name of statics) dynamics.delete(name);
  return { statics, dynamics };
}

function manifestOf(name: string): { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> } {
  const path = join(PACKAGE_ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(path)) throw new Error(`pack: package ${name} is imported but not installed (run npm ci)`);
  return JSON.parse(readFileSync(path, 'utf8')) as ReturnType<typeof manifestOf>;
}

/** The packages to copy: the static imports and, except for PARTIAL ones, their installed dependencies. */
function closure(roots: Iterable<string>): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    if (PARTIAL[name] !== undefined) return;
    const manifest = manifestOf(name);
    for (const dependency of Object.keys(manifest.dependencies ?? {})) visit(dependency);
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) {
      if (existsSync(join(PACKAGE_ROOT, 'node_modules', dependency))) visit(dependency);
    }
  };
  for (const root of roots) visit(root);
  return [...seen].sort();
}

function sizeOf(path: string): number {
  const info = statSync(path);
  return info.isDirectory() ? readdirSync(path).reduce((total, entry) => total + sizeOf(join(path, entry)), 0) : info.size;
}

function main(): void {
  const stage = process.argv[2];
  if (stage === undefined || !existsSync(join(stage, 'dist'))) throw new Error('usage: pack-modules.ts <stage dir holding dist/>');
  const { statics, dynamics } = importsOf(jsFiles(join(stage, 'dist')));
  const packages = closure(statics);
  const copied: Record<string, number> = {};
  for (const name of packages) {
    const from = join(PACKAGE_ROOT, 'node_modules', name);
    const to = join(stage, 'node_modules', name);
    for (const part of PARTIAL[name] ?? ['.']) {
      mkdirSync(dirname(join(to, part)), { recursive: true });
      cpSync(join(from, part), join(to, part), { recursive: true, dereference: true });
    }
    copied[name] = sizeOf(to);
  }
  const left_out = [...dynamics].filter((name) => !packages.includes(name)).sort();
  console.log(JSON.stringify({ packages: copied, left_out_dynamic_only: left_out }));
}

try {
  main();
} catch (error) {
  console.error(`pack-modules: ${(error as Error).message}`);
  process.exit(1);
}
