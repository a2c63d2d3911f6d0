/**
 * The offline GPU host's bundle end to end, here on lavapipe
 * (bench/device/README.md): bench/device/pack.sh packs (xz -0 for speed;
 * DEVICE_TEST_BUNDLE=<folder holding zkp-device.tar.xz> reuses one), then
 * bench/device/run.sh runs the WebGPU probe at its smallest sizes and the
 * small ladder from a copy of run.sh and the bundle alone, with a PATH that
 * has no node, npm or npx, so everything it runs comes out of the bundle.
 * Both reports must be in $OUT; the ladder's must say every stage ran and
 * matched the native backend, the probe's that its stages matched or were
 * cut for time (lavapipe compiles the straight-line curve code for longer
 * than any test can wait). A run given too little time must end by its
 * deadline with reports that say what happened. Slow: the WebGPU pipelines take minutes to compile on
 * lavapipe (the G2 MSM's most), hence `npm run test:slow`.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LadderReport } from '../../bench/device/report.ts';
import { testSeed } from '../helpers/random.ts';

vi.setConfig({ testTimeout: 2_400_000, hookTimeout: 900_000 });

const ROOT = resolve(import.meta.dirname, '..', '..');
/** What run.sh calls; node, npm and npx are left out on purpose. */
const HOST_TOOLS = ['bash', 'tar', 'xz', 'mktemp', 'date', 'stat', 'ln', 'ldconfig', 'grep', 'mkdir', 'rm', 'ls', 'timeout', 'tee', 'dirname', 'cat'];

let work: string;
let host: string;

interface Finished {
  readonly status: number | null;
  readonly output: string;
  readonly elapsed_s: number;
}

function runProcess(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Finished> {
  const started = performance.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, output, elapsed_s: (performance.now() - started) / 1000 }));
  });
}

/** A folder of links to the host tools run.sh needs, found on this PATH. */
function restrictedPath(dir: string): string {
  mkdirSync(dir);
  const searched = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const tool of HOST_TOOLS) {
    const found = searched.map((folder) => join(folder, tool)).find((path) => existsSync(path));
    if (found === undefined) throw new Error(`${tool} is not installed here; run.sh needs it`);
    symlinkSync(found, join(dir, tool));
  }
  return dir;
}

function runLadder(env: Record<string, string>): Promise<Finished> {
  const out = join(work, `out-${env.DEVICE_TOTAL_S}`);
  const tmp = join(work, `tmp-${env.DEVICE_TOTAL_S}`);
  mkdirSync(tmp);
  return runProcess('bash', ['bench/device/run.sh'], {
    cwd: host,
    env: { PATH: join(work, 'bin'), HOME: process.env.HOME ?? work, OUT: out, TMPDIR: tmp, ZKP_TEST_SEED: String(testSeed('device bundle')), ...env },
  });
}

function readReport(total_s: string): LadderReport {
  return JSON.parse(readFileSync(join(work, `out-${total_s}`, 'report.json'), 'utf8')) as LadderReport;
}

/** The fields of the probe's report (bench/lib/webgpu-probe.ts) checked here. */
interface ProbeReport {
  readonly probe: number;
  readonly status: string;
  readonly reason?: string;
  readonly webgpu?: string;
  readonly stages: readonly { readonly name: string; readonly status: string; readonly reason?: string }[];
}

function readProbeReport(total_s: string): ProbeReport {
  return JSON.parse(readFileSync(join(work, `out-${total_s}`, 'webgpu-probe.json'), 'utf8')) as ProbeReport;
}

/** Small probe sizes (its field stage, G1 MSM and NTT at 2^8, G2 at 2^3): lavapipe compiles the pipelines slowly whatever the size. */
const SMALL_PROBE = '--probe-msm-log2n 8 --probe-ntt-log2n 8 --probe-g2-log2n 3 --field-threads 256 --field-chain 16 --repeat 1';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'zkp-device-bundle-'));
  let packed = process.env.DEVICE_TEST_BUNDLE;
  if (packed === undefined) {
    packed = join(work, 'pack');
    const pack = await runProcess('bash', ['bench/device/pack.sh'], {
      cwd: ROOT,
      env: { ...process.env, DEVICE_PACK_XZ_LEVEL: process.env.DEVICE_TEST_XZ_LEVEL ?? '0', DEVICE_PACK_OUT: packed },
    });
    console.log(pack.output);
    expect(pack.status, pack.output).toBe(0);
  }
  // The device host's checkout: run.sh and the carried bench/device/dist, nothing else.
  host = join(work, 'host');
  mkdirSync(join(host, 'bench', 'device'), { recursive: true });
  copyFileSync(join(ROOT, 'bench', 'device', 'run.sh'), join(host, 'bench', 'device', 'run.sh'));
  cpSync(packed, join(host, 'bench', 'device', 'dist'), { recursive: true });
  restrictedPath(join(work, 'bin'));
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the offline GPU host bundle on lavapipe', () => {
  it('runs the small ladder from the bundle alone, every stage matching the native backend', async () => {
    // The ladder keeps the 1800 s it had before the probe joined the bundle; the probe gets 120 s more.
    const run = await runLadder({ DEVICE_LADDER: 'small', DEVICE_TOTAL_S: '1920', DEVICE_PROBE_S: '120', DEVICE_PROBE_ARGS: SMALL_PROBE });
    console.log(run.output.split('\n').slice(-30).join('\n'));
    expect(run.status, run.output).toBe(0);
    const report = readReport('1920');
    expect(report).toMatchObject({ schema: 'zkp-device-ladder/1', status: 'complete', ladder: 'small' });
    expect(report.warnings).toEqual([expect.stringMatching(/^the WebGPU adapter is a CPU driver \(llvmpipe/)]);
    // It ran from the bundle: its manifest, its node, only webgpu among the packages.
    expect(report.bundle).toMatchObject({ entry: 'dist/bench/device/ladder.js', node: process.version, modules: { left_out_dynamic_only: ['ffjavascript'] } });
    expect(Object.keys((report.bundle as { modules: { packages: object } }).modules.packages)).toEqual(['webgpu']);
    expect(report.machine.vulkan).toMatch(/libvulkan\.so\.1: host/);
    expect(report.adapter).toMatchObject({ cpu_driver: true, dawn_backend: 'vulkan' });
    expect(String(report.adapter?.description)).toMatch(/llvmpipe/);
    expect(Object.keys(report.adapter?.limits as object)).toContain('maxStorageBufferBindingSize');

    const rungs = report.stages.map((stage) => `${stage.stage}${stage.log2n === null ? '' : ` ${stage.log2n}`}: ${stage.status}`);
    const expected = ['open', 'compile-g1', 'compile-g2'].map((stage) => `${stage}: ok`);
    for (const log2n of [8, 9, 10]) expected.push(...['msm-g1', 'msm-g2', 'ntt'].map((stage) => `${stage} ${log2n}: ok`));
    expected.push('prove 10: ok');
    expect(rungs).toEqual(expected);
    for (const stage of report.stages.filter((record) => record.log2n !== null)) {
      expect(stage.matched_native, stage.stage).toBe(true);
      expect(stage.wall_ms).toBeGreaterThan(0);
    }
    const prove = report.stages.find((stage) => stage.stage === 'prove')!.results!;
    expect(prove.checks).toEqual({ native_verifies: true, webgpu_verifies: true, webgpu_equals_native: true, tampered_signal_refused: true });
    expect(prove.constraints).toBe(2 ** 10 - 11);
    expect(report.summary).toEqual({ ok: 13, mismatch: 0, failed: 0, skipped: 0 });
    expect(readFileSync(join(work, 'out-1920', 'ladder.log'), 'utf8')).toContain('| prove | 10 | ok |');

    // The probe ran first, from the bundle, and wrote its report and summary.
    const probe = readProbeReport('1920');
    expect(probe).toMatchObject({ probe: 1, status: 'complete' });
    expect(probe.webgpu).toMatch(/llvmpipe/);
    const probeStages = probe.stages.map((stage) => stage.name);
    expect(probeStages).toEqual(['field', 'compile-g1', 'msm-g1-2^8', 'ntt-2^8', 'msm-g2-2^3', 'curve-code-straight']);
    // The field stage reads its WGSL from the bundle; the G1 pipelines compile. On a loaded 2-core machine lavapipe's first
    // MSM dispatch can take minutes (LLVM compiles on dispatch), so later stages may be cut at the probe's deadline.
    for (const name of ['field', 'compile-g1']) expect(probe.stages.find((stage) => stage.name === name)?.status, name).toBe('ok');
    for (const stage of probe.stages) {
      if (stage.status !== 'ok') {
        expect(['timed-out', 'skipped'], `${stage.name}: ${stage.reason}`).toContain(stage.status);
        expect(stage.reason).toMatch(/deadline|estimated/);
      }
    }
    expect(readFileSync(join(work, 'out-1920', 'webgpu-probe.md'), 'utf8')).toContain('# WebGPU device probe');
    expect(readFileSync(join(work, 'out-1920', 'probe.log'), 'utf8')).toContain('field: ok');
    expect(run.output).toMatch(/probe report: complete; field ok/);
    // run.sh removed what it unpacked.
    expect(readdirSync(join(work, 'tmp-1920'))).toEqual([]);
  });

  it('ends by its deadline when given too little time, and the report says what was cut', async () => {
    const run = await runLadder({ DEVICE_LADDER: 'small', DEVICE_TOTAL_S: '40' });
    console.log(run.output.split('\n').slice(-15).join('\n'));
    expect(run.elapsed_s).toBeLessThan(40 + 5);
    // Too little time for the probe and the ladder: the ladder keeps it, the probe's report says why it did not run.
    expect(readProbeReport('40')).toMatchObject({ probe: 1, status: 'skipped', reason: expect.stringMatching(/^not run: \d+ s left after unpacking/) });
    const report = readReport('40');
    expect(report.schema).toBe('zkp-device-ladder/1');
    expect(['killed', 'complete']).toContain(report.status);
    if (report.status === 'killed') {
      expect(run.status).not.toBe(0);
      expect(report.warnings.join(' ')).toMatch(/killed by SIGTERM|stopped by run\.sh at its deadline/);
    } else {
      const skipped = report.stages.filter((stage) => stage.status === 'skipped');
      expect(skipped.length).toBeGreaterThan(0);
      for (const stage of skipped) expect(stage.reason).toMatch(/out of time|already skipped for time/);
    }
  });
});
