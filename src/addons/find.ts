/**
 * The project's C++ addons: `npm install` (node-gyp) builds them into
 * <package root>/build/Release. The package root is the nearest ancestor of
 * the calling module that holds the file, so this works from the source tree
 * and from a compiled copy at another depth.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../errors/index.ts';

/** The path of build/Release/<fileName> above `fromUrl` (import.meta.url); the package root's path even when it is missing, for error messages. */
export function findAddonFile(fileName: string, fromUrl: string): string {
  const relative = `build/Release/${fileName}`;
  let dir = dirname(fileURLToPath(fromUrl));
  for (let depth = 0; depth < 8; depth++) {
    const candidate = resolve(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../..', relative);
}

/** Loads the addon at `path` (from findAddonFile); throws BackendUnavailableError naming `what` and the fix when it is missing or does not load. Callers cache the result. */
export function loadAddon<T>(path: string, what: string): T {
  if (!existsSync(path)) {
    throw new BackendUnavailableError(`${what} not built (${path} is missing); run \`npm install\` or \`npx node-gyp rebuild\``);
  }
  try {
    return createRequire(import.meta.url)(path) as T;
  } catch (cause) {
    throw new BackendUnavailableError(`${what} at ${path} failed to load; rebuild it with \`npx node-gyp rebuild\``, { cause });
  }
}
