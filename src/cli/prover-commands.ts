/**
 * The prover commands (prove, fullprove, verify, backends): drop-in for
 * `snarkjs groth16 prove|fullprove|verify` and rapidsnark's `prover`. Loaded
 * by run.ts only when one of them runs, so the service commands start
 * without the prover's modules; each command imports only the modules it
 * uses (a verification reads no zkey and opens no backend), since every
 * module loaded is start-up time of a short process.
 */
import { performance } from 'node:perf_hooks';
import { InvalidArgumentError, VerificationFailedError } from '../errors/index.ts';
import type { ProverBackend } from '../prover/backend.ts';
import type { FileProgressEvent, proveAndWrite } from '../prover/prove-files.ts';
import { formatTimings, StageTimings } from '../prover/stage-timings.ts';
import { expectPositionals, parseArgs, type ParsedArgs } from './args.ts';
import type { CliStreams } from './streams.ts';

// --verify is the default and still accepted (scripts written for the earlier opt-in keep working).
const PROVE_SPEC = { valued: ['backend', 'vkey'], booleans: ['verify', 'no-verify', 'quiet', 'timings', 'help'] } as const;

/** Runs one prover command; `help` prints the usage (for --help inside a command). */
export async function runProverCommand(
  command: 'prove' | 'fullprove' | 'witness' | 'verify' | 'backends',
  rest: readonly string[],
  io: CliStreams,
  help: () => number,
): Promise<number> {
  switch (command) {
    case 'prove':
      return await proveCommand(parseArgs(rest, PROVE_SPEC), io, help);
    case 'fullprove':
      return await fullproveCommand(parseArgs(rest, PROVE_SPEC), io, help);
    case 'witness':
      return await witnessCommand(parseArgs(rest, { valued: [], booleans: ['quiet', 'timings', 'help'] }), io, help);
    case 'verify':
      return await verifyCommand(parseArgs(rest, { valued: [], booleans: ['quiet', 'help'] }), io, help);
    case 'backends':
      return await backendsCommand(io);
  }
}

async function proveCommand(parsed: ParsedArgs, io: CliStreams, help: () => number): Promise<number> {
  const started_ms = performance.now();
  if (parsed.flags.has('help')) return help();
  const [zkeyPath, wtnsPath, proofPath, publicPath] = expectPositionals(
    parsed,
    ['<circuit.zkey>', '<witness.wtns>', '<proof.json>', '<public.json>'],
    'prove',
  ) as [string, string, string, string];
  const log = progressLog(parsed, io, started_ms);
  // prove-files.ts too, used later by proveWith, so that its loading is timed here.
  const [{ mapZkey }, { readWtns }] = await log.span('load prover modules', () =>
    Promise.all([import('../prover/io/zkey.ts'), import('../prover/io/wtns.ts'), import('../prover/prove-files.ts')]),
  );
  const backend = await openCliBackend(parsed, log);
  try {
    const zkey = await log.timed('read zkey', () => mapZkey(zkeyPath));
    const witness = await log.timed('read witness', () => readWtns(wtnsPath));
    await proveWith(parsed, backend, log, { zkey, witness, proofPath, publicPath });
  } finally {
    await log.span('close backend', () => backend.close());
  }
  log.printTimings();
  return 0;
}

async function fullproveCommand(parsed: ParsedArgs, io: CliStreams, help: () => number): Promise<number> {
  const started_ms = performance.now();
  if (parsed.flags.has('help')) return help();
  const [inputPath, wasmPath, zkeyPath, proofPath, publicPath] = expectPositionals(
    parsed,
    ['<input.json>', '<circuit.wasm>', '<circuit.zkey>', '<proof.json>', '<public.json>'],
    'fullprove',
  ) as [string, string, string, string, string];
  const log = progressLog(parsed, io, started_ms);
  const [{ mapZkey }, { calculateWitnessFromFiles }] = await log.span('load prover modules', () =>
    Promise.all([import('../prover/io/zkey.ts'), import('../prover/witness.ts'), import('../prover/prove-files.ts')]),
  );
  const backend = await openCliBackend(parsed, log);
  try {
    const zkey = await log.timed('read zkey', () => mapZkey(zkeyPath));
    const witness = await log.timed('witness', () => calculateWitnessFromFiles(inputPath, wasmPath));
    await proveWith(parsed, backend, log, { zkey, witness, proofPath, publicPath });
  } finally {
    await log.span('close backend', () => backend.close());
  }
  log.printTimings();
  return 0;
}

/** `snarkjs wtns calculate` as one command: the `.wtns` of an input for a circuit's witness generator, byte for byte the same. */
async function witnessCommand(parsed: ParsedArgs, io: CliStreams, help: () => number): Promise<number> {
  const started_ms = performance.now();
  if (parsed.flags.has('help')) return help();
  const [wasmPath, inputPath, wtnsPath] = expectPositionals(parsed, ['<circuit.wasm>', '<input.json>', '<witness.wtns>'], 'witness') as [
    string,
    string,
    string,
  ];
  const log = progressLog(parsed, io, started_ms);
  const [{ calculateWtnsFromFiles }, { writeFile }] = await log.span('load witness modules', () =>
    Promise.all([import('../prover/witness.ts'), import('node:fs/promises')]),
  );
  const wtns = await log.timed('witness', () => calculateWtnsFromFiles(inputPath, wasmPath));
  await log.span('write witness', () => writeFile(wtnsPath, wtns));
  log.line(`witness written to ${wtnsPath} (${wtns.byteLength} bytes) in ${Math.round(performance.now() - started_ms)} ms`);
  log.printTimings();
  return 0;
}

/** Opens the backend first, so a bad --backend or --vkey fails before any file is read. */
async function openCliBackend(parsed: ParsedArgs, log: ProgressLog): Promise<ProverBackend> {
  if (parsed.flags.has('verify') && parsed.flags.has('no-verify')) throw new InvalidArgumentError('--verify and --no-verify contradict each other');
  if (parsed.values.has('vkey') && parsed.flags.has('no-verify'))
    throw new InvalidArgumentError('--vkey is the key to verify with; it makes no sense with --no-verify');
  const backend = await log.span('open backend', async () => {
    const { openBackend } = await import('../prover/select-backend.ts');
    return openBackend(parsed.values.get('backend'));
  });
  log.line(`backend ${backend.describe()}`);
  return backend;
}

async function proveWith(
  parsed: ParsedArgs,
  backend: ProverBackend,
  log: ProgressLog,
  files: Pick<Parameters<typeof proveAndWrite>[0], 'zkey' | 'witness' | 'proofPath' | 'publicPath'>,
): Promise<void> {
  const vkeyPath = parsed.values.get('vkey');
  const verify = !parsed.flags.has('no-verify');
  const started_ms = performance.now();
  const { proveAndWrite } = await import('../prover/prove-files.ts');
  await proveAndWrite({ ...files, backend, verify, ...(vkeyPath === undefined ? {} : { vkeyPath }), progress: log.stage });
  log.line(`proof written to ${files.proofPath}${verify ? ' (verified)' : ''} in ${Math.round(performance.now() - started_ms)} ms`);
}

async function verifyCommand(parsed: ParsedArgs, io: CliStreams, help: () => number): Promise<number> {
  if (parsed.flags.has('help')) return help();
  const [vkeyPath, publicPath, proofPath] = expectPositionals(parsed, ['<verification_key.json>', '<public.json>', '<proof.json>'], 'verify') as [
    string,
    string,
    string,
  ];
  const { readJsonFile, verifyProof } = await import('../prover/prove-files.ts');
  const vkey = await readJsonFile(vkeyPath, 'verification key');
  const publicSignals = await readJsonFile(publicPath, 'public signals');
  const proof = await readJsonFile(proofPath, 'proof');
  if (!(await verifyProof(vkey, publicSignals, proof))) {
    throw new VerificationFailedError(`${proofPath} does not verify against ${vkeyPath} with ${publicPath}`);
  }
  io.stdout.write('OK: the proof is valid\n');
  return 0;
}

async function backendsCommand(io: CliStreams): Promise<number> {
  const { probeBackends } = await import('../prover/select-backend.ts');
  for (const probe of await probeBackends()) {
    io.stdout.write(`${probe.name.padEnd(8)} ${probe.available ? 'available  ' : 'unavailable'} ${probe.detail}\n`);
  }
  return 0;
}

interface ProgressLog {
  line(text: string): void;
  /** Times a step: a progress line and, with --timings, a stage. */
  timed<T>(what: string, body: () => Promise<T>): Promise<T>;
  /** Times a step as a stage of --timings only (no progress line). */
  span<T>(what: string, body: () => Promise<T>): Promise<T>;
  stage(event: FileProgressEvent): void;
  /** With --timings: every stage of the process so far, what they leave unaccounted, and the total (stderr, even with --quiet). */
  printTimings(): void;
}

/**
 * Progress lines (unless --quiet) and, with --timings, the process's stage
 * timings: node's start-up, then 'load the CLI' from node's bootstrap to
 * `command_started_ms` (bin/zkp.js and the CLI modules loading), then every
 * timed step and proving stage.
 */
function progressLog(parsed: ParsedArgs, io: CliStreams, command_started_ms: number): ProgressLog {
  const quiet = parsed.flags.has('quiet');
  const timings = parsed.flags.has('timings') ? StageTimings.fromProcessStart() : null;
  timings?.add('load the CLI', performance.nodeTiming.bootstrapComplete, command_started_ms);
  const line = (text: string) => {
    if (!quiet) io.stderr.write(`zkp: ${text}\n`);
  };
  return {
    line,
    async timed(what, body) {
      const started_ms = performance.now();
      const result = await body();
      const ended_ms = performance.now();
      timings?.add(what, started_ms, ended_ms);
      line(`${what}: ${Math.round(ended_ms - started_ms)} ms`);
      return result;
    },
    async span(what, body) {
      return timings ? timings.time(what, body) : body();
    },
    stage(event) {
      if (event.phase === 'start') timings?.start(event.stage, event.at_ms);
      else {
        timings?.end(event.stage, event.at_ms);
        line(`${event.stage}: ${Math.round(event.duration_ms ?? 0)} ms`);
      }
    },
    printTimings() {
      if (timings)
        io.stderr.write(
          formatTimings(timings.report())
            .map((text) => `zkp: ${text}\n`)
            .join(''),
        );
    },
  };
}
