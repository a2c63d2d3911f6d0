/**
 * The `zkp` commands, drop-in for `snarkjs groth16 prove|fullprove|verify`
 * and rapidsnark's `prover`. User errors end with one line on stderr and a
 * non-zero exit code; only an internal error (a bug) prints more, and only
 * with ZKP_DEBUG=1.
 */
import { performance } from 'node:perf_hooks';
import { EXIT_CODES, InvalidArgumentError, VerificationFailedError, ZkpError } from '../errors/index.ts';
import type { ProverBackend } from '../prover/backend.ts';
import type { ProgressEvent } from '../prover/groth16.ts';
import { readWtns } from '../prover/io/wtns.ts';
import { readZkey } from '../prover/io/zkey.ts';
import { proveAndWrite, readJsonFile, verifyProof } from '../prover/prove-files.ts';
import { openBackend, probeBackends } from '../prover/select-backend.ts';
import { calculateWitnessFromFiles } from '../prover/witness.ts';
import { parseArgs, type ParsedArgs } from './args.ts';

export interface CliStreams {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const HELP = `zkp: Groth16 prover for BN254 (snarkjs-compatible)

Usage:
  zkp prove <circuit.zkey> <witness.wtns> <proof.json> <public.json> [options]
  zkp fullprove <input.json> <circuit.wasm> <circuit.zkey> <proof.json> <public.json> [options]
  zkp verify <verification_key.json> <public.json> <proof.json>
  zkp backends
  zkp --help

Options (prove, fullprove):
  --backend native|snarkjs|webgpu   backend to prove with (default: native if available, else snarkjs)
  --verify                          check the proof with snarkjs before writing it
  --vkey <verification_key.json>    key for --verify (default: derived from the zkey)
  --quiet                           no progress lines on stderr

Exit codes: 0 ok, 1 proof does not verify, 2 bad arguments or input, 3 file not found,
4 corrupt file, 5 files that do not belong together, 6 backend unavailable, 70 internal error.
`;

const PROVE_SPEC = { valued: ['backend', 'vkey'], booleans: ['verify', 'quiet', 'help'] } as const;

export async function runCli(args: readonly string[], io: CliStreams): Promise<number> {
  try {
    const [command, ...rest] = args;
    if (command === undefined) {
      io.stderr.write(HELP);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') return help(io);
    switch (command) {
      case 'prove':
        return await proveCommand(parseArgs(rest, PROVE_SPEC), io);
      case 'fullprove':
        return await fullproveCommand(parseArgs(rest, PROVE_SPEC), io);
      case 'verify':
        return await verifyCommand(parseArgs(rest, { valued: [], booleans: ['quiet', 'help'] }), io);
      case 'backends':
        return await backendsCommand(io);
      default:
        throw new InvalidArgumentError(`unknown command "${command}" (commands: prove, fullprove, verify, backends; see zkp --help)`);
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliStreams): number {
  if (error instanceof ZkpError && error.code !== 'INTERNAL') {
    io.stderr.write(`zkp: ${error.message}\n`);
    return EXIT_CODES[error.code];
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`zkp: internal error: ${message.split('\n')[0]} (set ZKP_DEBUG=1 for details)\n`);
  if (process.env.ZKP_DEBUG === '1' && error instanceof Error) io.stderr.write(`${error.stack ?? ''}\n`);
  return EXIT_CODES.INTERNAL;
}

function expectPositionals(parsed: ParsedArgs, names: readonly string[], command: string): string[] {
  if (parsed.positionals.length !== names.length) {
    throw new InvalidArgumentError(`${command} takes ${names.length} files (${names.join(' ')}), got ${parsed.positionals.length}`);
  }
  return parsed.positionals;
}

async function proveCommand(parsed: ParsedArgs, io: CliStreams): Promise<number> {
  if (parsed.flags.has('help')) return help(io);
  const [zkeyPath, wtnsPath, proofPath, publicPath] = expectPositionals(
    parsed,
    ['<circuit.zkey>', '<witness.wtns>', '<proof.json>', '<public.json>'],
    'prove',
  ) as [string, string, string, string];
  const log = progressLog(parsed, io);
  const backend = await openCliBackend(parsed, log);
  try {
    const zkey = await log.timed('read zkey', () => readZkey(zkeyPath));
    const witness = await log.timed('read witness', () => readWtns(wtnsPath));
    return await proveWith(parsed, backend, log, { zkey, witness, proofPath, publicPath });
  } finally {
    await backend.close();
  }
}

async function fullproveCommand(parsed: ParsedArgs, io: CliStreams): Promise<number> {
  if (parsed.flags.has('help')) return help(io);
  const [inputPath, wasmPath, zkeyPath, proofPath, publicPath] = expectPositionals(
    parsed,
    ['<input.json>', '<circuit.wasm>', '<circuit.zkey>', '<proof.json>', '<public.json>'],
    'fullprove',
  ) as [string, string, string, string, string];
  const log = progressLog(parsed, io);
  const backend = await openCliBackend(parsed, log);
  try {
    const zkey = await log.timed('read zkey', () => readZkey(zkeyPath));
    const witness = await log.timed('witness', () => calculateWitnessFromFiles(inputPath, wasmPath));
    return await proveWith(parsed, backend, log, { zkey, witness, proofPath, publicPath });
  } finally {
    await backend.close();
  }
}

/** Opens the backend first, so a bad --backend or --vkey fails before any file is read. */
async function openCliBackend(parsed: ParsedArgs, log: ProgressLog): Promise<ProverBackend> {
  if (parsed.values.has('vkey') && !parsed.flags.has('verify')) throw new InvalidArgumentError('--vkey is only used with --verify');
  const backend = await openBackend(parsed.values.get('backend'));
  log.line(`backend ${backend.describe()}`);
  return backend;
}

async function proveWith(
  parsed: ParsedArgs,
  backend: ProverBackend,
  log: ProgressLog,
  files: Pick<Parameters<typeof proveAndWrite>[0], 'zkey' | 'witness' | 'proofPath' | 'publicPath'>,
): Promise<number> {
  const vkeyPath = parsed.values.get('vkey');
  const verify = parsed.flags.has('verify');
  const started_ms = performance.now();
  await proveAndWrite({ ...files, backend, verify, ...(vkeyPath === undefined ? {} : { vkeyPath }), progress: log.stage });
  log.line(`proof written to ${files.proofPath}${verify ? ' (verified)' : ''} in ${Math.round(performance.now() - started_ms)} ms`);
  return 0;
}

async function verifyCommand(parsed: ParsedArgs, io: CliStreams): Promise<number> {
  if (parsed.flags.has('help')) return help(io);
  const [vkeyPath, publicPath, proofPath] = expectPositionals(parsed, ['<verification_key.json>', '<public.json>', '<proof.json>'], 'verify') as [
    string,
    string,
    string,
  ];
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
  for (const probe of await probeBackends()) {
    io.stdout.write(`${probe.name.padEnd(8)} ${probe.available ? 'available  ' : 'unavailable'} ${probe.detail}\n`);
  }
  return 0;
}

function help(io: CliStreams): number {
  io.stdout.write(HELP);
  return 0;
}

interface ProgressLog {
  line(text: string): void;
  timed<T>(what: string, body: () => Promise<T>): Promise<T>;
  stage(event: ProgressEvent): void;
}

function progressLog(parsed: ParsedArgs, io: CliStreams): ProgressLog {
  const quiet = parsed.flags.has('quiet');
  const line = (text: string) => {
    if (!quiet) io.stderr.write(`zkp: ${text}\n`);
  };
  return {
    line,
    async timed(what, body) {
      const started_ms = performance.now();
      const result = await body();
      line(`${what}: ${Math.round(performance.now() - started_ms)} ms`);
      return result;
    },
    stage(event) {
      if (event.phase === 'end') line(`${event.stage}: ${Math.round(event.duration_ms ?? 0)} ms`);
    },
  };
}
