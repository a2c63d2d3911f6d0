/**
 * The WebGPU probe as the device bundle runs it (run.sh, before the ladder):
 * `npm run bench:webgpu -- --probe` (bench/lib/webgpu-probe.ts, docs/webgpu.md)
 * with the same flags, from an entry that imports only the probe, so the
 * bundle needs neither ffjavascript nor snarkjs. Writes webgpu-probe.json (after
 * every stage, status 'running' until the end) and webgpu-probe.md to $OUT.
 *
 *   node dist/bench/device/probe.js [--probe-msm-log2n L] [--probe-ntt-log2n N]
 *     [--probe-g2-log2n N] [--probe-deadline-s S] [--repeat N]
 *     [--field-threads N] [--field-chain N] [--pass-timing M]
 */
import type { TimingMethod } from '../../src/prover/backends/webgpu/pass-timing.ts';
import { BenchCli } from '../lib/cli.ts';
import { PROBE_FLAGS, probeOptions, runProbe } from '../lib/webgpu-probe.ts';
import { setPassTimingMethod } from '../lib/webgpu-timing.ts';

const USAGE = `
Usage: node dist/bench/device/probe.js [flags]   (run.sh passes DEVICE_PROBE_ARGS)

The probe of \`npm run bench:webgpu -- --probe\`, with its flags:
  --probe-msm-log2n L  G1 MSM sizes, comma-separated log2 (default 16,18,20)
  --probe-ntt-log2n N  NTT and computeH size (default 20)
  --probe-g2-log2n N   G2 MSM size (default 10)
  --probe-deadline-s S stages still to run after S seconds are skipped (default 510)
  --repeat N           wall-timed runs per case (default 2)
  --field-threads N, --field-chain N   the field stage's size
  --pass-timing M      auto, timestamp or submission
Writes webgpu-probe.json and webgpu-probe.md to $OUT (default ./out).`;

const cli = new BenchCli('device probe', USAGE, {
  ...PROBE_FLAGS,
  repeat: { type: 'string' },
  'field-threads': { type: 'string' },
  'field-chain': { type: 'string' },
  'pass-timing': { type: 'string' },
});

const passTiming = cli.string('pass-timing') ?? 'auto';
if (!['auto', 'timestamp', 'submission'].includes(passTiming))
  cli.fail(`--pass-timing takes one of auto, timestamp, submission, got ${JSON.stringify(passTiming)}`);
if (passTiming !== 'auto') setPassTimingMethod(passTiming as TimingMethod);
process.env.OUT ||= 'out';
const options = probeOptions(cli, `npm run bench:webgpu -- --probe ${process.argv.slice(2).join(' ')}`.trim());
runProbe(options).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`device probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
