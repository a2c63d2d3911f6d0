/**
 * Where the project's C++ addons are: `npm install` (node-gyp) builds them
 * into <package root>/build/Release. The package root is the nearest ancestor
 * of the calling module that holds the file, so this works from the source
 * tree and from a compiled copy at another depth.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The path of build/Release/<fileName> above `fromUrl` (import.meta.url); the package root's path even when it is missing, for error messages. */
export function findAddonFile(fileName: string, fromUrl: string = import.meta.url): string {
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
