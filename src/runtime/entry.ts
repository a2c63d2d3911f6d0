/**
 * How to start one of the project's modules as the main module of a child
 * process. A caller that runs compiled (dist/, a .js file) starts the compiled
 * module; a caller that runs from the sources (a .ts file, under tsx or
 * vitest) starts the source module with tsx's loader, so a test of the
 * sources never runs a stale compiled copy and a user's process never loads
 * a compiler.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ProcessEntry {
  /** The file to give node (or child_process.fork) as its script. */
  readonly path: string;
  /** Node flags to put before the script. */
  readonly execArgv: readonly string[];
}

/** `relativeSource` is the module's path relative to the caller, as written in the sources (ending in .ts); `callerUrl` is the caller's import.meta.url. */
export function processEntry(relativeSource: string, callerUrl: string): ProcessEntry {
  if (!relativeSource.endsWith('.ts')) throw new Error(`processEntry: ${relativeSource} must name a .ts source`);
  if (callerUrl.endsWith('.ts')) return { path: fileURLToPath(new URL(relativeSource, callerUrl)), execArgv: ['--import', tsxLoaderUrl()] };
  return { path: fileURLToPath(new URL(`${relativeSource.slice(0, -3)}.js`, callerUrl)), execArgv: [] };
}

/** tsx's loader as a file URL, so the child finds it whatever its working directory. */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}
