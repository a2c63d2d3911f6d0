/**
 * The WebGPU ladder for a GPU host (bench/device/README.md): opens the
 * WebGPU backend (no CPU fallback, so a lost device fails its stage rather
 * than quietly matching the baseline) and the native one, compiles the MSM
 * pipelines, then climbs the sizes in order, at each size the G1 MSM, the G2
 * MSM and the NTT, then a whole prove where that size is on the prove list
 * (ladder-stages.ts). Each stage is first admitted by the budget (budget.ts)
 * or skipped with the reason; the report (report.ts) is rewritten after
 * every stage into $OUT/report.json. Exit status: 0 when no stage failed or
 * mismatched, 1 when one did, 3 when killed (SIGTERM) before the end.
 *
 *   node dist/bench/device/ladder.js      (run.sh runs it from the bundle)
 *   npx tsx bench/device/ladder.ts        (here, from the sources)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ProverBackend } from '../../src/prover/backend.ts';
import { loadNativeBackend } from '../../src/prover/backends/index.ts';
import { loadNativeAddon } from '../../src/prover/backends/native/addon.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { deviceOptionsFromEnv } from '../../src/prover/backends/webgpu/device.ts';
import { Prng } from '../../src/random/prng.ts';
import { testSeed } from '../../src/random/seed.ts';
import { Budget } from './budget.ts';
import { type LadderConfig, ladderConfig } from './ladder-config.ts';
import { type LadderContext, msmRung, nttRung, proveRung, type RungOutcome } from './ladder-stages.ts';
import { BaseCache } from './inputs.ts';
import { adapterInfo, baselineInfo, machineInfo } from './machine.ts';
import { REPORT_SCHEMA, ReportWriter, reportPassed, type StageRecord } from './report.ts';
import { bundleManifest, summaryTable } from './summary.ts';

const EXIT_MISMATCH_OR_FAILURE = 1;
const EXIT_KILLED = 3;

function say(line: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split('\n')[0]!;
}

async function main(): Promise<number> {
  const started_ms = performance.now();
  const config = ladderConfig();
  mkdirSync(config.outDir, { recursive: true });
  const seed = testSeed('device ladder');
  const writer = new ReportWriter(
    resolve(config.outDir, 'report.json'),
    {
      schema: REPORT_SCHEMA,
      status: 'running',
      ladder: config.ladder,
      seed,
      started_at: new Date().toISOString(),
      finished_at: null,
      deadline_at: new Date(config.deadline_epoch_ms).toISOString(),
      elapsed_ms: 0,
      bundle: bundleManifest(),
      machine: await machineInfo(),
      adapter: null,
      baseline: null,
      stages: [],
      summary: { ok: 0, mismatch: 0, failed: 0, skipped: 0 },
      warnings: [],
    },
    started_ms,
  );
  const report = writer.report;
  process.once('SIGTERM', () => {
    report.warnings.push('killed by SIGTERM (run.sh deadline) before the ladder finished');
    writer.finish('killed');
    process.exit(EXIT_KILLED);
  });
  writer.write();
  say(`ladder ${config.ladder}: MSM/NTT 2^${config.kernelSizes.join(',')}; proves 2^${config.proveSizes.join(',') || 'none'}; deadline ${report.deadline_at}`);

  const workDir = config.workDir ?? mkdtempSync(join(tmpdir(), 'zkp-device-'));
  const budget = new Budget(config.deadline_epoch_ms, config.reserve_ms);
  const opened: { gpu?: RawWebgpuBackend; native?: ProverBackend } = {};
  try {
    const open = await stageRecord('open', null, async () => {
      const native = await loadNativeBackend();
      opened.native = native;
      report.baseline = baselineInfo(native, loadNativeAddon());
      const gpu = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), loadAbcBackend: loadNativeBackend });
      opened.gpu = gpu;
      report.adapter = adapterInfo(gpu);
      say(`webgpu: ${gpu.describe()}`);
      say(`native: ${native.describe()}`);
      if (report.adapter.cpu_driver === true) report.warnings.push(`the WebGPU adapter is a CPU driver (${gpu.gpu.adapterDescription}), not a GPU`);
      return null;
    });
    report.stages.push(open);
    writer.write();
    const { gpu, native } = opened;
    if (gpu === undefined || native === undefined) {
      skipEverything(config, report.stages, `the backends did not open (${open.reason ?? 'unknown'})`);
      writer.finish('complete');
      return EXIT_MISMATCH_OR_FAILURE;
    }
    const context: LadderContext = {
      gpu,
      native,
      addon: loadNativeAddon(),
      rng: new Prng(seed),
      bases: { G1: new BaseCache('G1', loadNativeAddon(), new Prng(seed + 1)), G2: new BaseCache('G2', loadNativeAddon(), new Prng(seed + 2)) },
      workDir,
      say,
    };
    for (const group of ['G1', 'G2'] as const) {
      const compile = async (): Promise<null> => {
        await gpu.warm(group);
        return null;
      };
      report.stages.push(await stageRecord(`compile-${group.toLowerCase()}`, null, compile));
      writer.write();
    }

    const rungs: Array<[string, number, () => Promise<RungOutcome>]> = [];
    for (const log2n of [...new Set([...config.kernelSizes, ...config.proveSizes])].sort((a, b) => a - b)) {
      if (config.kernelSizes.includes(log2n)) {
        rungs.push(['msm-g1', log2n, () => msmRung(context, 'G1', log2n)]);
        rungs.push(['msm-g2', log2n, () => msmRung(context, 'G2', log2n)]);
        rungs.push(['ntt', log2n, () => nttRung(context, log2n)]);
      }
      if (config.proveSizes.includes(log2n)) rungs.push(['prove', log2n, () => proveRung(context, log2n)]);
    }
    for (const [stage, log2n, body] of rungs) {
      const admission = budget.admit(stage, log2n);
      if (!admission.run) {
        report.stages.push({ stage, log2n, status: 'skipped', reason: admission.reason!, estimate_ms: admission.estimate_ms });
        say(`${stage} 2^${log2n}: skipped (${admission.reason})`);
      } else {
        const record = await stageRecord(stage, log2n, body);
        record.estimate_ms = admission.estimate_ms === null ? null : Math.round(admission.estimate_ms);
        if (record.wall_ms !== undefined) budget.record(stage, log2n, record.wall_ms);
        report.stages.push(record);
      }
      writer.write();
    }
  } catch (error) {
    report.warnings.push(`the ladder stopped early: ${errorLine(error)}`);
    writer.finish('crashed');
    say(`crashed: ${errorLine(error)}`);
    return EXIT_MISMATCH_OR_FAILURE;
  } finally {
    await closeQuietly(opened.gpu, opened.native);
    if (config.workDir === null) rmSync(workDir, { recursive: true, force: true });
  }
  writer.finish('complete');
  console.log(`\n${summaryTable(report)}`);
  say(`report: ${writer.path}`);
  return reportPassed(report) ? 0 : EXIT_MISMATCH_OR_FAILURE;
}

/** Runs one stage; a thrown error becomes a failed record naming it. */
async function stageRecord(stage: string, log2n: number | null, body: () => Promise<RungOutcome | null>): Promise<StageRecord> {
  const label = log2n === null ? stage : `${stage} 2^${log2n}`;
  const started = performance.now();
  try {
    const outcome = await body();
    const wall_ms = Math.round(performance.now() - started);
    const record: StageRecord = { stage, log2n, status: outcome === null || outcome.matched ? 'ok' : 'mismatch', wall_ms };
    if (outcome !== null) Object.assign(record, { matched_native: outcome.matched, results: outcome.results });
    say(`${label}: ${record.status} in ${wall_ms} ms${outcome ? ` ${JSON.stringify(outcome.results)}` : ''}`);
    return record;
  } catch (error) {
    const wall_ms = Math.round(performance.now() - started);
    say(`${label}: FAILED after ${wall_ms} ms: ${errorLine(error)}`);
    return { stage, log2n, status: 'failed', reason: errorLine(error), wall_ms };
  }
}

function skipEverything(config: LadderConfig, stages: StageRecord[], reason: string): void {
  for (const log2n of config.kernelSizes) for (const stage of ['msm-g1', 'msm-g2', 'ntt']) stages.push({ stage, log2n, status: 'skipped', reason });
  for (const log2n of config.proveSizes) stages.push({ stage: 'prove', log2n, status: 'skipped', reason });
}

async function closeQuietly(...backends: Array<ProverBackend | undefined>): Promise<void> {
  for (const backend of backends) {
    try {
      await backend?.close();
    } catch {
      // Closing after a failure: the report already says what went wrong.
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`device ladder: ${errorLine(error)}`);
    process.exit(2);
  },
);
