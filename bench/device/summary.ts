/**
 * The short table printed at the end of a ladder run (the device tool
 * returns only the end of the output), and the bundle's manifest for the
 * report (MANIFEST.json, written by pack.sh at the bundle's root; absent
 * when the ladder runs from a checkout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/runtime/package-root.ts';
import type { LadderReport, StageRecord } from './report.ts';

export function bundleManifest(): Record<string, unknown> {
  const path = join(PACKAGE_ROOT, 'MANIFEST.json');
  // run.sh says how long unpacking took.
  const unpack_ms = process.env.DEVICE_UNPACK_MS === undefined ? null : Number(process.env.DEVICE_UNPACK_MS);
  if (!existsSync(path)) return { source: 'checkout', root: PACKAGE_ROOT, unpack_ms };
  return { ...(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), unpack_ms };
}

/** webgpu and native figures of one stage: warm webgpu ms, native ms. */
function figures(stage: StageRecord): [string, string] {
  const results = stage.results ?? {};
  const last = (value: unknown): string => (Array.isArray(value) ? String(value.at(-1)) : value === undefined ? '-' : String(value));
  if (stage.stage === 'ntt') return [last(results.webgpu_forward_ms), last(results.native_forward_ms)];
  if (stage.stage === 'prove') return [last(results.webgpu_ms), last(results.native_ms)];
  return [last(results.webgpu_e2e_ms), last(results.native_ms)];
}

export function summaryTable(report: LadderReport): string {
  const lines = [`| stage | log2n | status | webgpu ms (warm) | native ms | wall ms |`, `|---|---|---|---|---|---|`];
  for (const stage of report.stages) {
    const [webgpu, native] = stage.results === undefined ? ['-', '-'] : figures(stage);
    const status = stage.reason === undefined ? stage.status : `${stage.status}: ${stage.reason}`;
    lines.push(`| ${stage.stage} | ${stage.log2n ?? '-'} | ${status} | ${webgpu} | ${native} | ${stage.wall_ms ?? '-'} |`);
  }
  const { ok, mismatch, failed, skipped } = report.summary;
  lines.push('', `${ok} ok, ${mismatch} mismatched, ${failed} failed, ${skipped} skipped; adapter: ${String(report.adapter?.description ?? 'none')}`);
  return lines.join('\n');
}
