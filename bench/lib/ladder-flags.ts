/**
 * The command line of `npm run bench` (bench/run.ts): parsed here without
 * side effects, so each bad flag is one Error line a test can check; run.ts
 * prints it and exits 2.
 */
import { parseArgs } from 'node:util';
import { parseSeed } from '../../src/random/seed.ts';
import { LADDER_FAMILIES, LADDER_LOG2_MAX, LADDER_LOG2_MIN, type LadderFamily } from './ladder-circuits.ts';
import { parsePeers, type ProverPeer } from './prover-peers.ts';

export const LADDER_BACKENDS = ['snarkjs', 'native', 'webgpu'] as const;
export type LadderBackend = (typeof LADDER_BACKENDS)[number];

/** The default run: small rungs, so it ends within 10 minutes on 2 cores. */
export const DEFAULT_LOG2 = [10, 12, 14, 16] as const;
/** --full: every rung to 2^20, and 2^22 where the machine has FULL_22_MEMORY_BYTES. */
export const FULL_LOG2_MAX = 20;
export const FULL_22_MEMORY_BYTES = 32 * 1024 ** 3;
export const DEFAULT_SAMPLES = 3;
export const SAMPLES_MAX = 100;

/**
 * The largest rung each slow backend runs on, unless --all-sizes: snarkjs
 * (WebAssembly: a 2^14 prove takes tens of seconds on 2 loaded cores) and
 * webgpu on a software adapter. Lavapipe compiles the prove's pipelines with
 * LLVM on their first dispatch in each process, minutes to tens of minutes on
 * this machine (bench/results/webgpu-llvmpipe-vm.md: 1044 s for the G2 MSM's),
 * so by default it runs on no rung (a cap below the ladder). A real GPU has no cap.
 */
export const SIZE_CAPS = {
  default: { snarkjs: 12, webgpuSoftware: LADDER_LOG2_MIN - 1 },
  full: { snarkjs: 18, webgpuSoftware: 12 },
} as const;

export class UsageError extends Error {}

export interface LadderOptions {
  readonly log2s: readonly number[];
  readonly families: readonly LadderFamily[];
  readonly backends: readonly LadderBackend[];
  readonly peers: readonly ProverPeer[];
  readonly samples: number;
  readonly full: boolean;
  /** The largest rung for snarkjs and for webgpu on a software adapter; null: no cap. */
  readonly caps: { readonly snarkjs: number; readonly webgpuSoftware: number } | null;
  /** The witness inputs' seed; undefined: ZKP_TEST_SEED, else drawn (and logged). */
  readonly seed: number | undefined;
  /** Write the reports here instead of bench/results/ (no dated copy). */
  readonly outDir: string | undefined;
}

export type ParsedCommand = { readonly kind: 'help' } | { readonly kind: 'parts' } | { readonly kind: 'ladder'; readonly options: LadderOptions };

export const LADDER_USAGE = `usage: npm run bench -- [--log2 LIST] [--circuits LIST] [--backends LIST] [--peer NAME=PATH ...]
                        [--samples N] [--full] [--all-sizes] [--seed S] [--out DIR]
       npm run bench -- --parts

Groth16 prove times on a ladder of circuits (docs/bench.md): for each circuit
and backend, cold (a whole \`zkp prove\` / \`snarkjs groth16 prove\` / peer
process, with its peak RSS) and warm (key resident in this process) prove
times (min, median, p95), the witness time apart, every proof verified, and
the speed-up over snarkjs and over native of the same run. Circuits are built
once with circom2 and INSECURE development keys (zkp setup --dev) and cached
in circuits/build/dev-key/. Writes bench/results/bench-<host>.json, .md,
-time.svg and -speedup.svg (the latest at the top, history in a dated folder).

  --log2 LIST        rungs (domain sizes 2^N), e.g. 16 or 10,12 or 10..16, N in
                     ${LADDER_LOG2_MIN}..${LADDER_LOG2_MAX} (default ${DEFAULT_LOG2.join(',')}; with --full ${LADDER_LOG2_MIN}..${FULL_LOG2_MAX},
                     and 22 where the machine has ${FULL_22_MEMORY_BYTES / 1024 ** 3} GiB of memory or more)
  --circuits LIST    families, of ${LADDER_FAMILIES.join(', ')} (default all)
  --backends LIST    of ${LADDER_BACKENDS.join(', ')} (default all; one that does not open
                     here is reported as skipped)
  --peer NAME=PATH   another prover, called as PATH <circuit.zkey> <witness.wtns>
                     <proof.json> <public.json> (rapidsnark's order); cold runs only;
                     may be given more than once
  --samples N        cold and warm proves (and witnesses) per circuit and backend,
                     1..${SAMPLES_MAX} (default ${DEFAULT_SAMPLES})
  --full             the whole ladder; snarkjs up to 2^${SIZE_CAPS.full.snarkjs} (default 2^${SIZE_CAPS.default.snarkjs}) and webgpu
                     on a software adapter such as lavapipe up to 2^${SIZE_CAPS.full.webgpuSoftware} (default: not
                     at all; its shader compilation takes minutes per process);
                     runs above a cap are reported as skipped, with the reason
  --all-sizes        no size cap for snarkjs and software webgpu
  --seed S           the witness inputs' seed (default ZKP_TEST_SEED, else random; logged)
  --out DIR          write the four report files into DIR instead of bench/results
  --parts            run the per-part benches instead (prover, msm, webgpu, raft), each
                     with its defaults; pass them options through their own scripts
                     (npm run bench:prover -- --help)
  --help             this text`;

/** "10..16", "10,12,14", "10..12,16": sorted, without repeats; throws UsageError. */
export function parseLog2List(text: string): number[] {
  const rungs = new Set<number>();
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) throw new UsageError(`--log2: ${JSON.stringify(text)} has an empty item (write e.g. 10,12 or 10..16)`);
  const rung = (item: string): number => {
    if (!/^\d+$/.test(item)) throw new UsageError(`--log2: ${JSON.stringify(item)} is not an integer (write e.g. 10,12 or 10..16)`);
    const value = Number(item);
    if (value < LADDER_LOG2_MIN || value > LADDER_LOG2_MAX)
      throw new UsageError(`--log2: 2^${value} is outside the ladder, ${LADDER_LOG2_MIN}..${LADDER_LOG2_MAX}`);
    return value;
  };
  for (const part of parts) {
    const range = /^(\S+?)\.\.(\S+)$/.exec(part);
    if (range === null) {
      rungs.add(rung(part));
      continue;
    }
    const low = rung(range[1] ?? '');
    const high = rung(range[2] ?? '');
    if (low > high) throw new UsageError(`--log2: the range ${part} runs backwards`);
    for (let value = low; value <= high; value++) rungs.add(value);
  }
  return [...rungs].sort((a, b) => a - b);
}

function parseList<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`--${flag} needs at least one of ${allowed.join(', ')}`);
  for (const item of items)
    if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`--${flag}: ${JSON.stringify(item)} is not one of ${allowed.join(', ')}`);
  return [...new Set(items)] as T[];
}

function seedFlag(text: string): number {
  try {
    return parseSeed(text, '--seed');
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Parses `npm run bench` arguments; `memory_bytes` decides whether --full includes 2^22. Throws UsageError. */
export function parseBenchArgs(argv: readonly string[], memory_bytes: number): ParsedCommand {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        log2: { type: 'string' },
        circuits: { type: 'string' },
        backends: { type: 'string' },
        peer: { type: 'string', multiple: true },
        samples: { type: 'string' },
        full: { type: 'boolean' },
        'all-sizes': { type: 'boolean' },
        seed: { type: 'string' },
        out: { type: 'string' },
        parts: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    // node:util's messages may run over several lines ("... is ambiguous.\nDid you forget ..."): keep them to one.
    const message = (error instanceof Error ? error.message : String(error)).split('\n').map((line) => line.trim());
    throw new UsageError(message.filter((line) => line !== '').join(' '));
  }
  if (values.help === true) return { kind: 'help' };
  if (values.parts === true) {
    const others = Object.keys(values).filter((flag) => flag !== 'parts');
    if (others.length > 0) throw new UsageError(`--parts runs the per-part benches with their defaults; it takes no other flag (got --${others.join(', --')})`);
    return { kind: 'parts' };
  }
  const full = values.full === true;
  const str = (flag: string): string | undefined => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);

  const log2Text = str('log2');
  const log2s =
    log2Text !== undefined
      ? parseLog2List(log2Text)
      : full
        ? [...parseLog2List(`${LADDER_LOG2_MIN}..${FULL_LOG2_MAX}`), ...(memory_bytes >= FULL_22_MEMORY_BYTES ? [22] : [])]
        : [...DEFAULT_LOG2];
  const circuitsText = str('circuits');
  const families = circuitsText === undefined ? [...LADDER_FAMILIES] : parseList('circuits', circuitsText, LADDER_FAMILIES);
  const backendsText = str('backends');
  const backends = backendsText === undefined ? [...LADDER_BACKENDS] : parseList('backends', backendsText, LADDER_BACKENDS);

  let samples = DEFAULT_SAMPLES;
  const samplesText = str('samples');
  if (samplesText !== undefined) {
    samples = /^\d+$/.test(samplesText.trim()) ? Number(samplesText.trim()) : Number.NaN;
    if (!(samples >= 1 && samples <= SAMPLES_MAX))
      throw new UsageError(`--samples needs an integer from 1 to ${SAMPLES_MAX}, got ${JSON.stringify(samplesText)}`);
  }
  let peers: ProverPeer[];
  try {
    peers = parsePeers(Array.isArray(values.peer) ? values.peer : []);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const seedText = str('seed');
  const outDir = str('out');
  if (outDir !== undefined && outDir.trim() === '') throw new UsageError('--out needs a folder');
  return {
    kind: 'ladder',
    options: {
      log2s,
      families,
      backends,
      peers,
      samples,
      full,
      caps: values['all-sizes'] === true ? null : full ? SIZE_CAPS.full : SIZE_CAPS.default,
      seed: seedText === undefined ? undefined : seedFlag(seedText),
      outDir,
    },
  };
}
