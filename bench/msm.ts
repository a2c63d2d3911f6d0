/**
 * Native backend vs ffjavascript (WASM on worker threads) on the same inputs
 * in the same process: G1 MSM (random scalars and a Groth16-like witness of
 * mostly 0/1), G2 MSM at a smaller size, and Fr NTT. Results are checked equal
 * before timing counts. Prints a table and writes bench/results/msm-<host>.json
 * (latest at the top, every run also under bench/results/<date>/).
 *
 *   npx tsx bench/msm.ts [--log2n 16] [--g2-log2n 13] [--ntt-log2n 16] [--reps 3]
 */
import { availableParallelism, hostname, loadavg } from 'node:os';
import { createNativeBackend } from '../src/prover/backends/native/index.ts';
import type { Prng } from '../src/random/prng.ts';
import { testRandom } from '../src/random/seed.ts';
import { BenchCli } from './lib/cli.ts';
import { writeResults } from './lib/results.ts';
import { chainPoints, loadBn128 } from './lib/ffjavascript.ts';

interface Row {
  case: string;
  n: number;
  baseline_ms: number;
  native_ms: number;
  /** baseline_ms / native_ms: the wall-clock speed-up. */
  ratio: number;
  /** CPU time of the whole process (all threads) in the best run of each. */
  baseline_cpu_ms: number;
  native_cpu_ms: number;
}

/** n bytes from the seeded PRNG. */
function randomBytes(rng: Prng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() & 0xff;
  return out;
}

/** Random standard-form Fr scalars below 2^253 < r. */
function randomScalars(rng: Prng, n: number): Uint8Array {
  const s = randomBytes(rng, n * 32);
  for (let i = 0; i < n; i++) s[i * 32 + 31] = s[i * 32 + 31]! & 0x1f;
  return s;
}

/** A witness-like vector: 45% zeros, 45% ones, the rest random. */
function witnessLikeScalars(rng: Prng, n: number): Uint8Array {
  const s = randomScalars(rng, n);
  const pick = randomBytes(rng, n);
  for (let i = 0; i < n; i++) {
    if (pick[i]! < 115) s.fill(0, i * 32, i * 32 + 32);
    else if (pick[i]! < 230) {
      s.fill(0, i * 32, i * 32 + 32);
      s[i * 32] = 1;
    }
  }
  return s;
}

interface Timing {
  ms: number;
  cpu_ms: number;
  result: Uint8Array;
}

/**
 * Best of `reps` runs (wall ms, with the process CPU time of that run) and the
 * last result. CPU time covers every thread of the process, ffjavascript's
 * workers included, and is less disturbed by other load on a shared machine.
 */
async function best(reps: number, run: () => Promise<Uint8Array>): Promise<Timing> {
  let ms = Infinity;
  let cpuMs = Infinity;
  let result: Uint8Array = new Uint8Array();
  for (let i = 0; i < reps; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    result = await run();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (wall < ms) {
      ms = wall;
      cpuMs = (cpu.user + cpu.system) / 1000;
    }
  }
  return { ms, cpu_ms: cpuMs, result };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a).equals(Buffer.from(b));
}

async function main(): Promise<void> {
  const cli = new BenchCli(
    'bench:msm',
    `usage: npx tsx bench/msm.ts [--log2n N] [--g2-log2n N] [--ntt-log2n N] [--reps N]

The native backend against ffjavascript (WASM on worker threads) on the same
inputs: G1 MSM (random and witness-like scalars), G2 MSM and the Fr NTT;
results are checked equal before a timing counts; inputs from ZKP_TEST_SEED
(else a drawn seed, logged). Writes bench/results/msm-<host>.json.

  --log2n N       G1 MSM size 2^N (default 16)
  --g2-log2n N    G2 MSM size 2^N (default log2n - 3)
  --ntt-log2n N   NTT size 2^N (default log2n)
  --reps N        runs of each; the best counts (default 3)
  --help          this text`,
    { log2n: { type: 'string' }, 'g2-log2n': { type: 'string' }, 'ntt-log2n': { type: 'string' }, reps: { type: 'string' } },
  );
  const log2n = cli.int('log2n', 16, 1, 26);
  const g2Log2n = cli.int('g2-log2n', Math.max(1, log2n - 3), 1, 24);
  const nttLog2n = cli.int('ntt-log2n', log2n, 1, 28);
  const reps = cli.int('reps', 3, 1);
  const rng = testRandom('bench:msm'); // inputs from ZKP_TEST_SEED, else a drawn seed; logged

  const curve = await loadBn128();
  const native = await createNativeBackend();
  console.log(`${native.describe()}; baseline ffjavascript; best of ${reps}`);
  const rows: Row[] = [];
  const record = (name: string, n: number, baseline: Timing, nat: Timing): void => {
    rows.push({
      case: name,
      n,
      baseline_ms: baseline.ms,
      native_ms: nat.ms,
      ratio: baseline.ms / nat.ms,
      baseline_cpu_ms: baseline.cpu_ms,
      native_cpu_ms: nat.cpu_ms,
    });
  };

  const n1 = 2 ** log2n;
  console.log(`generating ${n1} G1 points...`);
  const g1Bases = chainPoints(curve.G1, n1, 64);
  for (const [name, scalars] of [
    ['G1 MSM random scalars', randomScalars(rng, n1)],
    ['G1 MSM witness-like (0/1 mostly)', witnessLikeScalars(rng, n1)],
  ] as const) {
    const base = await best(reps, async () => curve.G1.toAffine(await curve.G1.multiExpAffine(g1Bases, scalars)));
    const nat = await best(reps, () => native.msmG1(g1Bases, scalars));
    if (!sameBytes(base.result, nat.result)) throw new Error(`${name}: native result differs from ffjavascript`);
    record(name, n1, base, nat);
  }

  const n2 = 2 ** g2Log2n;
  console.log(`generating ${n2} G2 points...`);
  const g2Bases = chainPoints(curve.G2, n2, 128);
  const g2Scalars = randomScalars(rng, n2);
  {
    const base = await best(reps, async () => curve.G2.toAffine(await curve.G2.multiExpAffine(g2Bases, g2Scalars)));
    const nat = await best(reps, () => native.msmG2(g2Bases, g2Scalars));
    if (!sameBytes(base.result, nat.result)) throw new Error('G2 MSM: native result differs from ffjavascript');
    record('G2 MSM random scalars', n2, base, nat);
  }

  const nNtt = 2 ** nttLog2n;
  const nttInput = randomScalars(rng, nNtt); // < 2^253 < r: a valid Montgomery-form vector
  for (const direction of ['forward', 'inverse'] as const) {
    const base = await best(reps, async () => new Uint8Array(direction === 'forward' ? await curve.Fr.fft(nttInput) : await curve.Fr.ifft(nttInput)));
    const nat = await best(reps, () => native.ntt(nttInput, nttLog2n, direction));
    if (!sameBytes(base.result, nat.result)) throw new Error(`NTT ${direction}: native result differs from ffjavascript`);
    record(`Fr NTT ${direction}`, nNtt, base, nat);
  }

  await native.close();
  await curve.terminate();

  console.log('');
  console.log('| case | n | ffjavascript ms | native ms | speed-up | ffjavascript CPU ms | native CPU ms | CPU ratio |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const cpuRatio = r.baseline_cpu_ms / r.native_cpu_ms;
    console.log(
      `| ${r.case} | 2^${Math.log2(r.n)} | ${r.baseline_ms.toFixed(1)} | ${r.native_ms.toFixed(1)} | ${r.ratio.toFixed(1)}x | ` +
        `${r.baseline_cpu_ms.toFixed(1)} | ${r.native_cpu_ms.toFixed(1)} | ${cpuRatio.toFixed(1)}x |`,
    );
  }
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  const report = {
    benchmark: 'msm',
    date: new Date().toISOString(),
    host,
    backend: native.describe(),
    cpus: availableParallelism(),
    loadavg_at_end: loadavg(),
    reps,
    statistic: 'best wall time',
    rows,
  };
  const written = writeResults(`msm-${host}`, { json: `${JSON.stringify(report, null, 2)}\n` });
  console.log(`\nwrote ${written.join(', ')}`);
}

await main();
