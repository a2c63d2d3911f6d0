/**
 * Where benchmark reports go. bench/results/<name>.<ext> is always the latest
 * run of that bench on that host; every run is also kept under
 * bench/results/<YYYY-MM-DD>/ (UTC date of the run), so the top level reads
 * as "what is true now" and the dated folders as the history.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Writes each `files[ext]` as <name>.<ext> at the top of bench/results and in today's dated folder; returns the paths written (repository-relative). */
export function writeResults(name: string, files: Readonly<Record<string, string>>, date: Date = new Date()): string[] {
  const day = date.toISOString().slice(0, 10);
  const written: string[] = [];
  for (const dir of [RESULTS_DIR, path.join(RESULTS_DIR, day)]) {
    mkdirSync(dir, { recursive: true });
    for (const [ext, text] of Object.entries(files)) {
      const file = path.join(dir, `${name}.${ext}`);
      writeFileSync(file, text);
      written.push(path.relative(path.join(RESULTS_DIR, '..', '..'), file));
    }
  }
  return written;
}

/** The report name of a WebGPU bench, e.g. webgpu-probe-llvmpipe-vm: the adapter's first word and the host, reduced to [a-z0-9-]. */
export function webgpuReportName(prefix: string, adapterDescription: string, host: string): string {
  const adapter =
    adapterDescription
      .split(/[:\s]/)[0]!
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '') || 'adapter';
  return `${prefix}-${adapter}-${host.replace(/[^a-zA-Z0-9-]/g, '')}`;
}
