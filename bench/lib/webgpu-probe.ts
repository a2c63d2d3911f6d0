/**
 * `npm run bench:webgpu -- --probe`: what a first run on a GPU host must
 * find out, in stages under one deadline (default 510 s, for a 9-minute slot
 * on a fresh offline host):
 *   field        multiply rate of each arithmetic variant (16-bit and 13-bit
 *                limbs, straight and compact multiply: the ZKP_WEBGPU_FIELD
 *                and ZKP_WEBGPU_MUL settings each row prints; rolled and
 *                unrolled limb loops), with compile times;
 *   compile-g1   the G1 MSM pipelines (compile times per pipeline);
 *   msm-g1-2^k   G1 MSM per size with random scalars, all ones and 70 % in
 *                {0, 1}: wall time (best of --repeat), one run timed pass
 *                by pass, every result checked against the native backend;
 *   ntt-2^k      forward NTT and computeH, wall and per pass, checked;
 *   msm-g2-2^k   a small G2 MSM with its pipelines' compile time, checked;
 *   curve-code   the smallest G1 MSM again with the other curve code
 *                (interpreted on a GPU), compile time and per pass.
 * A stage starts only if the deadline has not passed and the time it is
 * estimated to need (from the one before it) fits; one still running at the
 * deadline is abandoned, and every later stage is recorded as skipped with
 * the reason. A summary table and the decisions the numbers support are
 * printed at the end; the JSON (and a .md) go to $OUT when it is set, else
 * to bench/results/webgpu-probe-<adapter>-<host>.{json,md}.
 */
import { writeFileSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import { assert } from '../../src/errors/index.ts';
import { loadNativeAddon } from '../../src/prover/backends/native/addon.ts';
import { createRawWebgpuBackend, type RawWebgpuBackend } from '../../src/prover/backends/webgpu/backend.ts';
import { type CodegenOptions, type CurveCode, isCpuDriver } from '../../src/prover/backends/webgpu/codegen.ts';
import { deviceOptionsFromEnv, type CompileRecord } from '../../src/prover/backends/webgpu/device.ts';
import { BN254_P } from '../../src/prover/backends/webgpu/twins/field.ts';
import type { Prng } from '../../src/random/prng.ts';
import { testRandom } from '../../src/random/seed.ts';
import type { BenchCli, FlagSpec } from './cli.ts';
import { chainPoints, loadBn128 } from './ffjavascript.ts';
import { webgpuReportName, writeResults } from './results.ts';
import { type FieldRate, fieldRate, round, topEntries, withPassTiming } from './webgpu-timing.ts';

/** The probe's flags, shared by `bench:webgpu --probe` and the device bundle's bench/device/probe.ts (which also takes --repeat, --field-threads, --field-chain). */
export const PROBE_FLAGS = {
  'probe-msm-log2n': { type: 'string' },
  'probe-ntt-log2n': { type: 'string' },
  'probe-g2-log2n': { type: 'string' },
  'probe-deadline-s': { type: 'string' },
} as const satisfies Record<string, FlagSpec>;

/** The probe's options from its flags (see bench/webgpu.ts's usage); a bad value exits 2 through `cli`. */
export function probeOptions(cli: BenchCli, command: string): ProbeOptions {
  const raw = cli.string('probe-msm-log2n') ?? '16,18,20';
  const msmLog2n = raw.split(',').map((x) => Number(x.trim()));
  if (msmLog2n.length === 0 || msmLog2n.some((x) => !Number.isInteger(x) || x < 1 || x > 26))
    cli.fail(`--probe-msm-log2n needs comma-separated integers from 1 to 26, got ${JSON.stringify(raw)}`);
  return {
    msmLog2n,
    nttLog2n: cli.int('probe-ntt-log2n', 20, 1, 27),
    g2Log2n: cli.int('probe-g2-log2n', 10, 1, 24),
    deadline_s: cli.int('probe-deadline-s', 510, 1),
    fieldThreads: cli.string('field-threads') === undefined ? undefined : cli.int('field-threads', 1, 1),
    fieldChain: cli.string('field-chain') === undefined ? undefined : cli.int('field-chain', 1, 1),
    repeat: cli.int('repeat', 2, 1),
    command,
  };
}

export interface ProbeOptions {
  readonly msmLog2n: readonly number[];
  readonly nttLog2n: number;
  readonly g2Log2n: number;
  readonly deadline_s: number;
  readonly fieldThreads: number | undefined;
  readonly fieldChain: number | undefined;
  /** Wall-timed runs of each case; the best counts. */
  readonly repeat: number;
  readonly command: string;
}

type StageStatus = 'ok' | 'mismatch' | 'failed' | 'skipped' | 'timed-out';

interface StageRecord {
  name: string;
  status: StageStatus;
  reason?: string;
  wall_ms: number;
  data?: unknown;
}

interface CaseResult {
  readonly case: string;
  readonly log2n: number;
  readonly native_ms: number;
  readonly webgpu_ms: number;
  readonly webgpu_runs_ms: number[];
  /** The pass-timed run: its wall time, the device passes' sum, and the rest (host work, submission, read-back). */
  readonly timed_wall_ms: number;
  readonly passes_ms: number | null;
  readonly timing_method: string;
  readonly per_entry: Record<string, number | null>;
  readonly buffers_created: number;
  readonly bytes_uploaded: number;
  readonly equal: boolean;
}

const ms = (t0: number): number => performance.now() - t0;

/** Standard-form Fr scalars below 2^253 (also valid Montgomery-form elements). */
function randomFr(rng: Prng, n: number): Uint8Array {
  const words = new Uint32Array(n * 8);
  for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
  for (let i = 0; i < n; i++) words[i * 8 + 7]! &= 0x1fffffff;
  return new Uint8Array(words.buffer);
}

/** The probe's scalar distributions: uniform, all ones, 35 % zeros + 35 % ones + 30 % uniform (witness-like). */
function scalarsFor(kind: 'random' | 'ones' | 'zero-one-70', rng: Prng, n: number): Uint8Array {
  if (kind === 'random') return randomFr(rng, n);
  const out = kind === 'ones' ? new Uint8Array(n * 32) : randomFr(rng, n);
  for (let i = 0; i < n; i++) {
    const u = kind === 'ones' ? 0 : rng.next();
    if (u < 0.7) {
      out.fill(0, i * 32, i * 32 + 32);
      if (kind === 'ones' || u >= 0.35) out[i * 32] = 1;
    }
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

class Deadline {
  readonly started = performance.now();
  constructor(readonly limit_ms: number) {}
  left_ms(): number {
    return this.limit_ms - (performance.now() - this.started);
  }
}

export async function runProbe(options: ProbeOptions): Promise<number> {
  const deadline = new Deadline(options.deadline_s * 1000);
  const say = (line: string): void => console.log(`[probe ${(ms(deadline.started) / 1000).toFixed(1)} s] ${line}`);
  const rng = testRandom('bench:webgpu --probe');
  const stages: StageRecord[] = [];
  let stopReason: string | null = null;
  let lastWall_ms = 0;
  const out = process.env.OUT;
  /** What is known once the device is open; with it, every finished stage is written to $OUT at once, so a probe killed mid-stage still leaves them. */
  let partial: Record<string, unknown> | null = null;
  const checkpoint = (): void => {
    if (!out || partial === null) return;
    const report = { probe: 1, status: 'running', ...partial, elapsed_s: round(ms(deadline.started) / 1000, 1), stages };
    writeFileSync(join(out, 'webgpu-probe.json'), JSON.stringify(report, null, 2));
  };

  /** Runs one stage under the deadline; `estimate_ms` skips it when it would not fit. */
  async function stage<T>(name: string, body: () => Promise<{ status: StageStatus; data: T }>, estimate_ms = 0): Promise<T | undefined> {
    const left = deadline.left_ms();
    if (stopReason !== null || left <= 0 || estimate_ms > left) {
      const reason =
        stopReason ??
        (left <= 0
          ? `the ${options.deadline_s} s deadline had passed`
          : `estimated ${(estimate_ms / 1000).toFixed(0)} s (from the stage before) > ${(left / 1000).toFixed(0)} s left`);
      stages.push({ name, status: 'skipped', reason, wall_ms: 0 });
      say(`${name}: skipped (${reason})`);
      return undefined;
    }
    say(`${name}: start (${(left / 1000).toFixed(0)} s left)`);
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), left);
    });
    try {
      const outcome = await Promise.race([body(), timeout]);
      lastWall_ms = ms(t0);
      if (outcome === 'timeout') {
        stopReason = `stage ${name} was still running at the ${options.deadline_s} s deadline`;
        stages.push({ name, status: 'timed-out', reason: stopReason, wall_ms: lastWall_ms });
        say(`${name}: TIMED OUT`);
        return undefined;
      }
      stages.push({ name, status: outcome.status, wall_ms: lastWall_ms, data: outcome.data });
      say(`${name}: ${outcome.status} in ${(lastWall_ms / 1000).toFixed(1)} s`);
      return outcome.data;
    } catch (e) {
      lastWall_ms = ms(t0);
      const reason = e instanceof Error ? e.message : String(e);
      stages.push({ name, status: 'failed', reason, wall_ms: lastWall_ms });
      say(`${name}: FAILED: ${reason}`);
      if (/device lost/i.test(reason)) stopReason = `the device was lost in stage ${name}`;
      return undefined;
    } finally {
      clearTimeout(timer);
      checkpoint();
    }
  }

  const opened = performance.now();
  const gpu = await createRawWebgpuBackend({ ...deviceOptionsFromEnv() });
  const open_ms = ms(opened);
  const native = await (await import('../../src/prover/backends/index.ts')).loadCpuBackend();
  const onCpuDriver = isCpuDriver(gpu.gpu.adapterDescription);
  const timestampsWork = await gpu.gpu.timestampsWork();
  partial = {
    webgpu: gpu.describe(),
    baseline: native.describe(),
    host: hostname(),
    command: options.command,
    started_at: new Date().toISOString(),
    deadline_s: options.deadline_s,
  };
  checkpoint();
  say(
    `${gpu.describe()}; baseline ${native.describe()}; timestamp queries ${gpu.gpu.hasTimestamps ? (timestampsWork ? 'recorded' : 'offered but not recorded') : 'not offered'}`,
  );

  // Bases: the native addon's fixed-base multiplications of random scalars (fast), else a point chain in ffjavascript.
  let addon: ReturnType<typeof loadNativeAddon> | null = null;
  try {
    addon = loadNativeAddon();
  } catch {
    addon = null;
  }
  const makeBases = async (group: 'G1' | 'G2', n: number): Promise<Uint8Array> => {
    if (addon) return group === 'G1' ? addon.fixedBaseG1(randomFr(rng, n)) : addon.fixedBaseG2(randomFr(rng, n));
    const curve = await loadBn128();
    try {
      return group === 'G1' ? chainPoints(curve.G1, n, 64) : chainPoints(curve.G2, n, 128);
    } finally {
      await curve.terminate();
    }
  };

  async function timeCase(
    label: string,
    log2n: number,
    webgpu: () => Promise<Uint8Array>,
    baseline: () => Promise<Uint8Array>,
    backend: RawWebgpuBackend = gpu,
  ): Promise<CaseResult> {
    let t0 = performance.now();
    const expected = await baseline();
    const native_ms = ms(t0);
    const runs: number[] = [];
    let equal = true;
    for (let r = 0; r < options.repeat; r++) {
      t0 = performance.now();
      const out = await webgpu();
      runs.push(ms(t0));
      equal &&= same(out, expected);
    }
    const timed = await withPassTiming(backend.gpu, webgpu);
    equal &&= same(timed.value, expected);
    const result: CaseResult = {
      case: label,
      log2n,
      native_ms: round(native_ms),
      webgpu_ms: round(Math.min(...runs)),
      webgpu_runs_ms: runs.map((x) => round(x)),
      timed_wall_ms: round(timed.wall_ms),
      passes_ms: timed.timing.total_ms === null ? null : round(timed.timing.total_ms),
      timing_method: timed.timing.method,
      per_entry: timed.per_entry,
      buffers_created: timed.work.buffers_created,
      bytes_uploaded: timed.work.bytes_uploaded,
      equal,
    };
    say(
      `  ${label} 2^${log2n}: webgpu ${result.webgpu_ms.toFixed(1)} ms, native ${result.native_ms.toFixed(1)} ms, passes ${result.passes_ms?.toFixed(1) ?? '-'} ms [${topEntries(timed.per_entry)}], equal ${equal}`,
    );
    return result;
  }

  const statusOf = (cases: readonly CaseResult[]): StageStatus => (cases.every((c) => c.equal) ? 'ok' : 'mismatch');

  // 1. Field multiply rate per arithmetic variant.
  const fieldThreads = options.fieldThreads ?? (onCpuDriver ? 1024 : 1 << 20);
  const fieldChain = options.fieldChain ?? (onCpuDriver ? 64 : 1024);
  const fieldRows = await stage('field', async () => {
    const pairs = Array.from({ length: fieldThreads }, (): [bigint, bigint] => [rng.below(BN254_P), rng.below(BN254_P)]);
    const rows: FieldRate[] = [];
    // The adapter's own limb-loop choice first (the other may compile slowly on a CPU driver).
    // Straight and compact multiply (the outer limb loop rolled) for each; straight first (decide() reads those for the width).
    for (const unrollLimbs of [gpu.codegen.unrollLimbs, !gpu.codegen.unrollLimbs]) {
      for (const mul of ['straight', 'compact'] as const) {
        for (const width of [16, 13] as const) {
          const codegen: CodegenOptions = { unrollLimbs, curveCode: gpu.codegen.curveCode, mul };
          const row = await fieldRate(gpu.gpu, width, codegen, pairs, fieldChain, options.repeat);
          say(
            `  field ${row.limbs} ${row.limb_loops} ${row.mul} [${row.variant}]: ${(row.mul_per_s / 1e6).toFixed(2)} M mul/s (compile ${row.compile_ms.toFixed(0)} ms), equal ${row.equal}`,
          );
          rows.push(row);
        }
      }
    }
    return { status: rows.every((r) => r.equal) ? ('ok' as const) : ('mismatch' as const), data: rows };
  });

  // 2. G1 MSM pipelines, then the sizes.
  const compileRecords = (from: number): CompileRecord[] => gpu.gpu.compileRecords().slice(from);
  const g1Compile = await stage('compile-g1', async () => {
    const from = gpu.gpu.compileRecords().length;
    await gpu.warm('G1');
    return { status: 'ok' as const, data: compileRecords(from) };
  });

  const msmResults: CaseResult[] = [];
  let smallestBases: Uint8Array | null = null;
  const sortedSizes = [...options.msmLog2n].sort((a, b) => a - b);
  let previous: { log2n: number; wall_ms: number } | null = null;
  for (const log2n of sortedSizes) {
    // Work grows about linearly with n; 1.5x margin for the wider window's tail.
    const estimate = previous === null ? 0 : previous.wall_ms * 2 ** (log2n - previous.log2n) * 1.5;
    const cases = await stage(
      `msm-g1-2^${log2n}`,
      async () => {
        const n = 2 ** log2n;
        const bases = await makeBases('G1', n);
        if (smallestBases === null) smallestBases = bases;
        const empty = new Uint8Array(0);
        const circuit = await gpu.loadCircuit({ id: `probe-g1-${log2n}`, A: bases, B1: empty, B2: empty, C: empty, H: empty });
        const rows: CaseResult[] = [];
        try {
          for (const kind of ['random', 'ones', 'zero-one-70'] as const) {
            const scalars = scalarsFor(kind, rng, n);
            rows.push(
              await timeCase(
                `msm-g1 ${kind}`,
                log2n,
                () => circuit.msmG1('A', scalars),
                () => native.msmG1(bases, scalars),
              ),
            );
          }
        } finally {
          await circuit.release();
        }
        return { status: statusOf(rows), data: rows };
      },
      estimate,
    );
    if (cases) {
      msmResults.push(...cases);
      previous = { log2n, wall_ms: lastWall_ms };
    }
  }

  // 3. NTT and computeH.
  const nttLog2n = options.nttLog2n;
  const nttCases = await stage(`ntt-2^${nttLog2n}`, async () => {
    const n = 2 ** nttLog2n;
    const values = randomFr(rng, n);
    const rows = [
      await timeCase(
        'ntt forward',
        nttLog2n,
        () => gpu.ntt(values, nttLog2n, 'forward'),
        () => native.ntt(values, nttLog2n, 'forward'),
      ),
    ];
    const [a, b, c] = [randomFr(rng, n), randomFr(rng, n), randomFr(rng, n)];
    rows.push(
      await timeCase(
        'computeH',
        nttLog2n,
        () => gpu.computeH(a, b, c, nttLog2n),
        () => native.computeH(a, b, c, nttLog2n),
      ),
    );
    return { status: statusOf(rows), data: rows };
  });

  // 4. A small G2 MSM with its compile time.
  const g2 = await stage(`msm-g2-2^${options.g2Log2n}`, async () => {
    const from = gpu.gpu.compileRecords().length;
    const t0 = performance.now();
    await gpu.warm('G2');
    const compile_ms = ms(t0);
    const n = 2 ** options.g2Log2n;
    const bases = await makeBases('G2', n);
    const scalars = randomFr(rng, n);
    const row = await timeCase(
      'msm-g2 random',
      options.g2Log2n,
      () => gpu.msmG2(bases, scalars),
      () => native.msmG2(bases, scalars),
    );
    return { status: statusOf([row]), data: { compile_ms: round(compile_ms, 1), compiles: compileRecords(from), result: row } };
  });

  // 5. The other curve code on the smallest G1 size (its own device: pipelines are per device).
  const otherCode: CurveCode = gpu.codegen.curveCode === 'straight' ? 'interpreted' : 'straight';
  const smallest = sortedSizes[0];
  const basesForCode: Uint8Array | null = smallestBases;
  if (smallest === undefined || basesForCode === null) stages.push({ name: `curve-code-${otherCode}`, status: 'skipped', reason: 'no G1 MSM ran', wall_ms: 0 });
  const curveCode =
    smallest === undefined || basesForCode === null
      ? undefined
      : await stage(`curve-code-${otherCode}`, async () => {
          assert(smallest !== undefined && basesForCode !== null, 'no G1 MSM ran');
          const bases = basesForCode;
          const other = await createRawWebgpuBackend({ ...deviceOptionsFromEnv(), curveCode: otherCode });
          try {
            const t0 = performance.now();
            await other.warm('G1');
            const compile_ms = ms(t0);
            const scalars = scalarsFor('random', rng, 2 ** smallest);
            const empty = new Uint8Array(0);
            const circuit = await other.loadCircuit({ id: `probe-g1-${otherCode}`, A: bases, B1: empty, B2: empty, C: empty, H: empty });
            const row = await timeCase(
              `msm-g1 random, ${otherCode}`,
              smallest,
              () => circuit.msmG1('A', scalars),
              () => native.msmG1(bases, scalars),
              other,
            );
            const mine = msmResults.find((r) => r.log2n === smallest && r.case === 'msm-g1 random');
            return {
              status: statusOf([row]),
              data: { curve_code: otherCode, compile_ms: round(compile_ms, 1), result: row, default_code_ms: mine?.webgpu_ms ?? null },
            };
          } finally {
            await other.close();
          }
        });

  const report = {
    probe: 1,
    status: 'complete',
    webgpu: gpu.describe(),
    baseline: native.describe(),
    cpu_driver: onCpuDriver,
    timestamp_query: { offered: gpu.gpu.hasTimestamps, recorded: timestampsWork },
    host: hostname(),
    command: options.command,
    date: new Date().toISOString(),
    deadline_s: options.deadline_s,
    elapsed_s: round(ms(deadline.started) / 1000, 1),
    load_average_at_end: loadavg(),
    device_open_ms: round(open_ms, 1),
    repeat: options.repeat,
    stages,
    field: fieldRows ?? [],
    compile_g1: g1Compile ?? [],
    msm_g1: msmResults,
    ntt: nttCases ?? [],
    msm_g2: g2 ?? null,
    curve_code: curveCode ?? null,
    compiles: gpu.gpu.compileRecords(),
    decisions: [] as string[],
  };
  report.decisions = decide(report, onCpuDriver);
  const md = probeMarkdown(report);
  console.log(`\n${md}`);
  const name = webgpuReportName('webgpu-probe', gpu.gpu.adapterDescription, hostname());
  if (out) {
    writeFileSync(join(out, 'webgpu-probe.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(out, 'webgpu-probe.md'), md);
    console.log(`wrote ${join(out, 'webgpu-probe.json')} and .md`);
  } else {
    console.log(`wrote ${writeResults(name, { json: JSON.stringify(report, null, 2), md }).join(', ')}`);
  }
  // A stage abandoned at the deadline may still hold the device: do not wait for it to close.
  if (stopReason === null) {
    await gpu.close();
    await native.close();
  }
  const bad = stages.filter((s) => s.status === 'mismatch' || s.status === 'failed');
  if (bad.length > 0) console.error(`probe: ${bad.map((s) => `${s.name} ${s.status}`).join(', ')}`);
  return bad.length > 0 ? 1 : 0;
}

interface ReportView {
  readonly cpu_driver: boolean;
  readonly stages: readonly StageRecord[];
  readonly field: readonly FieldRate[];
  readonly msm_g1: readonly CaseResult[];
  readonly ntt: readonly CaseResult[];
  readonly msm_g2: { compile_ms: number; result: CaseResult } | null;
  readonly curve_code: { curve_code: string; compile_ms: number; result: CaseResult; default_code_ms: number | null } | null;
  readonly compiles: readonly CompileRecord[];
}

/** The decisions the measurements support, one line each; none is drawn from a stage that did not run. */
function decide(r: ReportView, cpuDriver: boolean): string[] {
  const out: string[] = [];
  if (cpuDriver) out.push('CPU driver (lavapipe/llvmpipe): these figures show the probe works end to end; they say nothing about GPU speed.');
  const rate = (limbs: string, loops: string): number | undefined =>
    r.field.find((f) => f.limbs === limbs && f.limb_loops === loops && f.mul === 'straight')?.mul_per_s;
  for (const loops of ['unrolled', 'rolled']) {
    const r16 = rate('16 x 16-bit', loops);
    const r13 = rate('20 x 13-bit', loops);
    if (r16 && r13) {
      const ratio = r13 / r16;
      const verdict =
        ratio > 1.15
          ? 'switch the curve and MSM code to 13-bit limbs (issue 18 item 4)'
          : ratio < 0.95
            ? 'keep 16-bit limbs'
            : 'no clear winner at the multiply level; keep 16-bit limbs (no repacking)';
      out.push(`limb width (${loops} loops): 13-bit multiplies at ${ratio.toFixed(2)}x the 16-bit rate -> ${verdict}.`);
    }
  }
  const u = rate('16 x 16-bit', 'unrolled');
  const ro = rate('16 x 16-bit', 'rolled');
  if (u && ro)
    out.push(
      `limb loops: unrolled at ${(u / ro).toFixed(2)}x the rolled rate (16-bit) -> ${u >= ro ? 'unrolled' : 'rolled (compact)'} multiply on this adapter.`,
    );
  // The four arithmetic variants with this adapter's own limb loops (what the backend builds): the fastest multiply.
  const own = r.field.filter((f) => f.limb_loops === (cpuDriver ? 'rolled' : 'unrolled') && f.equal);
  if (own.length > 1) {
    const best = own.reduce((a, b) => (b.mul_per_s > a.mul_per_s ? b : a));
    out.push(
      `arithmetic: ${own.map((f) => `${f.variant} ${(f.mul_per_s / 1e6).toFixed(2)}`).join(', ')} M mul/s -> fastest multiply: ${best.variant} (confirm with the MSM under those settings).`,
    );
  }
  const largest = Math.max(-1, ...r.msm_g1.map((c) => c.log2n));
  const at = (kind: string): CaseResult | undefined => r.msm_g1.find((c) => c.log2n === largest && c.case === `msm-g1 ${kind}`);
  const random = at('random');
  if (random) {
    out.push(
      `G1 MSM 2^${largest} random scalars: ${random.webgpu_ms.toFixed(1)} ms wall on this adapter (native ${random.native_ms.toFixed(1)} ms); device passes ${random.passes_ms?.toFixed(1) ?? '-'} ms (${random.timing_method}). Largest passes: ${topEntries(random.per_entry)}.`,
    );
    const entries = random.per_entry;
    const total = Object.values(entries).reduce<number>((s, v) => s + (v ?? 0), 0);
    const share = (e: string): number => (total > 0 ? (entries[e] ?? 0) / total : 0);
    const acc = share('msm_accumulate_affine') + share('msm_accumulate_jac');
    if (share('msm_reduce_level') > 0.25)
      out.push(
        `bucket reduction (msm_reduce_level) is ${(100 * share('msm_reduce_level')).toFixed(0)}% of the device time -> try another REDUCE_SEGMENT (msm-plan.ts).`,
      );
    if (share('msm_combine') > 0.1)
      out.push(
        `the one-thread window combine and to-affine (msm_combine) is ${(100 * share('msm_combine')).toFixed(0)}% of the device time -> split Horner across threads.`,
      );
    if (acc > 0.5)
      out.push(
        `accumulation is ${(100 * acc).toFixed(0)}% of the device time -> the curve arithmetic (limbs, straight-line code) and level sizing (items 3, 4) matter most.`,
      );
    if (share('scan_blocks') > 0.1)
      out.push(`scan_blocks (one workgroup) is ${(100 * share('scan_blocks')).toFixed(0)}% -> a scan over several workgroups (decoupled look-back).`);
    if (random.passes_ms !== null && random.timing_method === 'timestamp') {
      const host = random.timed_wall_ms - random.passes_ms;
      out.push(
        `host work, submission and read-back: ${host.toFixed(1)} ms of ${random.timed_wall_ms.toFixed(1)} ms per MSM -> ${host > random.passes_ms ? 'per-call host work dominates (item 2)' : 'the device passes dominate'}.`,
      );
    }
    const ones = at('ones');
    if (ones)
      out.push(
        `all-ones scalars take ${(ones.webgpu_ms / random.webgpu_ms).toFixed(2)}x the random-scalar time${ones.webgpu_ms > 1.5 * random.webgpu_ms ? ' -> contention on repeated scalars (item 3)' : ''}.`,
      );
  }
  if (!cpuDriver && random && largest === 20)
    out.push(`target G1 MSM 2^20 <= 15 ms: measured ${random.webgpu_ms.toFixed(1)} ms wall -> ${random.webgpu_ms <= 15 ? 'met' : 'not met'}.`);
  const ntt = r.ntt.find((c) => c.case === 'ntt forward');
  if (ntt) {
    out.push(`NTT 2^${ntt.log2n}: ${ntt.webgpu_ms.toFixed(1)} ms wall (native ${ntt.native_ms.toFixed(1)}); largest passes: ${topEntries(ntt.per_entry)}.`);
    if (!cpuDriver && ntt.log2n === 20)
      out.push(
        `target NTT 2^20 <= 2 ms: measured ${ntt.webgpu_ms.toFixed(1)} ms wall, ${ntt.passes_ms?.toFixed(1) ?? '-'} ms in passes -> ${ntt.webgpu_ms <= 2 ? 'met' : 'not met'}.`,
      );
    const stagesMs = (ntt.per_entry.ntt_radix4 ?? 0) + (ntt.per_entry.ntt_stage ?? 0);
    if (ntt.passes_ms && stagesMs / ntt.passes_ms > 0.5)
      out.push('the global NTT passes (radix-4) dominate the NTT -> four-step layout or a larger tile (item 4).');
  }
  if (r.msm_g2)
    out.push(
      `G2 MSM pipelines compile in ${(r.msm_g2.compile_ms / 1000).toFixed(1)} s on this adapter; G2 2^${r.msm_g2.result.log2n} ${r.msm_g2.result.webgpu_ms.toFixed(1)} ms.`,
    );
  const cc = r.curve_code;
  if (cc && cc.default_code_ms !== null) {
    const ratio = cc.result.webgpu_ms / cc.default_code_ms;
    out.push(
      `curve code: ${cc.curve_code} takes ${ratio.toFixed(2)}x the default's time at 2^${cc.result.log2n} (compile ${(cc.compile_ms / 1000).toFixed(1)} s) -> ${ratio < 1 ? `prefer ${cc.curve_code} on this adapter` : 'keep the default'}.`,
    );
  }
  const skipped = r.stages.filter((s) => s.status === 'skipped' || s.status === 'timed-out');
  if (skipped.length > 0) out.push(`not measured: ${skipped.map((s) => `${s.name} (${s.reason})`).join('; ')}.`);
  return out;
}

function probeMarkdown(r: ReportView & { webgpu: string; command: string; date: string; elapsed_s: number; deadline_s: number; decisions: string[] }): string {
  const lines: string[] = [
    '# WebGPU device probe',
    '',
    r.webgpu,
    `command: \`${r.command}\`; ${r.date}; ${r.elapsed_s} s of the ${r.deadline_s} s deadline`,
    '',
    '| stage | status | s | note |',
    '|---|---|---|---|',
    ...r.stages.map((s) => `| ${s.name} | ${s.status} | ${(s.wall_ms / 1000).toFixed(1)} | ${s.reason ?? ''} |`),
    '',
  ];
  if (r.field.length > 0) {
    lines.push('| field mul | limb loops | mul | variant | threads x chain | compile ms | M mul/s | equal |', '|---|---|---|---|---|---|---|---|');
    for (const f of r.field)
      lines.push(
        `| ${f.limbs} | ${f.limb_loops} | ${f.mul} | ${f.variant} | ${f.threads} x ${f.chain} | ${f.compile_ms.toFixed(0)} | ${(f.mul_per_s / 1e6).toFixed(2)} | ${f.equal} |`,
      );
    lines.push('');
  }
  const cases = [...r.msm_g1, ...r.ntt, ...(r.msm_g2 ? [r.msm_g2.result] : []), ...(r.curve_code ? [r.curve_code.result] : [])];
  if (cases.length > 0) {
    lines.push(
      '| case | log2n | webgpu ms | native ms | passes ms (method) | timed run ms | buffers / uploaded KiB per call | largest passes | equal |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const c of cases)
      lines.push(
        `| ${c.case} | ${c.log2n} | ${c.webgpu_ms.toFixed(1)} | ${c.native_ms.toFixed(1)} | ${c.passes_ms?.toFixed(1) ?? '-'} (${c.timing_method}) | ${c.timed_wall_ms.toFixed(1)} | ${c.buffers_created} / ${(c.bytes_uploaded / 1024).toFixed(0)} | ${topEntries(c.per_entry)} | ${c.equal} |`,
      );
    lines.push('');
  }
  const perModule = new Map<string, number>();
  for (const c of r.compiles) perModule.set(c.module, (perModule.get(c.module) ?? 0) + c.module_ms + c.pipeline_ms);
  if (perModule.size > 0) {
    lines.push('| shader module | pipelines compiled, ms |', '|---|---|');
    for (const [m, t] of perModule) lines.push(`| ${m} | ${t.toFixed(0)} |`);
    lines.push('');
  }
  lines.push('Decisions:', ...r.decisions.map((d) => `- ${d}`), '');
  return lines.join('\n');
}
