/**
 * A file's bytes for reading in place: mapped by the native addon when it is
 * built (no copy into the JS heap; pages come from the page cache as they are
 * first read, and releasePages drops those a prove is done with), else read
 * whole into a Buffer, where releasePages does nothing.
 *
 * A mapped file must not be truncated while it is in use: reading a page
 * past the new end kills the process (SIGBUS), as with any mmap reader
 * (rapidsnark's included). Replacing it by rename is safe.
 */
import { readFile } from 'node:fs/promises';
import { loadNativeAddon, type NativeAddon } from '../backends/native/addon.ts';
import { fileReadError } from './binfile.ts';

export interface FileBytes {
  readonly bytes: Uint8Array;
  /** Lets the pages of `view` (part of `bytes`) leave memory; they are read again from the file if used again. */
  readonly releasePages: (view: Uint8Array) => void;
  readonly mapped: boolean;
}

function nativeAddonOrNull(): NativeAddon | null {
  try {
    return loadNativeAddon();
  } catch {
    return null;
  }
}

export async function mapFileBytes(path: string): Promise<FileBytes> {
  const addon = nativeAddonOrNull();
  if (addon === null) {
    const bytes = await readFile(path).catch((error: unknown) => {
      throw fileReadError(path, error);
    });
    return { bytes, releasePages: () => {}, mapped: false };
  }
  let buffer: ArrayBuffer;
  try {
    buffer = addon.mapFile(path);
  } catch (error) {
    throw fileReadError(path, error);
  }
  return { bytes: new Uint8Array(buffer), releasePages: (view) => void addon.releasePages(view), mapped: true };
}
