/**
 * The `zkp` command: the prover commands (drop-in for `snarkjs groth16
 * prove|fullprove|verify` and rapidsnark's `prover`), the processes of the
 * proving service (coordinator, worker, dev) and its client commands. User
 * errors end with one line on stderr and the exit code of their error code
 * (EXIT_CODES); only an internal error (a bug) prints more, and only with
 * ZKP_DEBUG=1.
 *
 * Start-up stays fast: this module imports nothing heavy; each command loads
 * what it needs (the prover, grpc, snarkjs) when it runs.
 */
import { EXIT_CODES, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import type { CliStreams } from './streams.ts';

export type { CliStreams } from './streams.ts';

export const HELP = `zkp: Groth16 prover for BN254 (snarkjs-compatible) and its proving service

Prover (one process, no service):
  zkp prove <circuit.zkey> <witness.wtns> <proof.json> <public.json> [options]
  zkp fullprove <input.json> <circuit.wasm> <circuit.zkey> <proof.json> <public.json> [options]
  zkp witness <circuit.wasm> <input.json> <witness.wtns>   the .wtns snarkjs wtns calculate writes, faster
  zkp verify <verification_key.json> <public.json> <proof.json>
  zkp backends
  zkp setup --dev <circuit.r1cs> <circuit.zkey> [--vkey vk.json]   INSECURE development key (public toxic waste)
  zkp capacity --report <bench.json> --rate <proofs/h> --p99 <seconds> [--circuit NAME] [--cost gpu=USD/h,cpu=USD/h]
                                    workers of each kind that meet a rate and a p99 (docs/capacity.md)

  --backend native|snarkjs|webgpu   backend to prove with (default: native if available, else snarkjs)
  --no-verify                       write the proof without verifying it (by default every proof is
                                    verified first, natively; one that does not verify is not written, exit 1)
  --vkey <verification_key.json>    key to verify with (default: read from the zkey)
  --quiet                           no progress lines on stderr
  --timings                         every stage of the process (start-up, reading, proving, verifying,
                                    writing) with its time and RSS, and what no stage covers (docs/prover.md)

Service processes (configured by flags, ZKP_* environment, a config file; see docs/config.md):
  zkp coordinator [--raft.nodeId ID --raft.peers LIST ...]   one coordinator
  zkp worker [--coordinators host:port,... ...]             one worker
  zkp dev [--state-dir DIR]                                 database + 3 coordinators + 1 worker on loopback
  zkp config --print [--for coordinator|worker|client|dev]  every key: env name, value, source

Service clients (--coordinators host:port,... or ZKP_COORDINATORS; default: the dev cluster in .zkp/dev):
  zkp circuit add <circuit.wasm> <circuit.zkey> [--vkey vk.json] [--name N]   prints the circuit id
  zkp circuit list [--json]
  zkp submit <circuit> <input.json|witness.wtns> [--wait] [--proof proof.json] [--public public.json]
             [--idempotency-key K] [--priority N] [--deadline 30s] [--max-attempts N] [--quiet]
  zkp job <id> [--json]
  zkp jobs [--state S,...] [--circuit C] [--limit N] [--archived] [--json]
  zkp cancel <id>
  zkp status [--json]

Exit codes: 0 ok, 1 proof does not verify, 2 bad arguments or input, 3 not found,
4 corrupt file, 5 files that do not belong together, 6 backend unavailable, 9 service unavailable,
11 resource exhausted, 12 failed precondition, 13 cancelled, 14 deadline exceeded, 70 internal error
(docs/cli.md lists them all).
`;

const PROVER_COMMANDS = ['prove', 'fullprove', 'witness', 'verify', 'backends'] as const;
const CLIENT_COMMANDS = ['circuit', 'submit', 'job', 'jobs', 'cancel', 'status'] as const;
const PROCESS_COMMANDS = ['coordinator', 'worker', 'dev'] as const;
const ALL_COMMANDS = [...PROVER_COMMANDS, 'setup', 'capacity', ...PROCESS_COMMANDS, ...CLIENT_COMMANDS, 'config'];

function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value);
}

export async function runCli(args: readonly string[], io: CliStreams): Promise<number> {
  const help = () => {
    io.stdout.write(HELP);
    return 0;
  };
  try {
    const [command, ...rest] = args;
    if (command === undefined) {
      io.stderr.write(HELP);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') return help();
    if (isOneOf(PROVER_COMMANDS, command)) {
      const { runProverCommand } = await import('./prover-commands.ts');
      return await runProverCommand(command, rest, io, help);
    }
    if (isOneOf(CLIENT_COMMANDS, command)) {
      const { runClientCommand } = await import('./service-commands.ts');
      return await runClientCommand(command, rest, io, help);
    }
    if (isOneOf(PROCESS_COMMANDS, command)) {
      const { runProcessCommand } = await import('./process-commands.ts');
      return await runProcessCommand(command, rest, io, help);
    }
    if (command === 'setup') {
      const { setupCommand } = await import('./setup-command.ts');
      return await setupCommand(rest, io, help);
    }
    if (command === 'capacity') {
      const { capacityCommand } = await import('./capacity-command.ts');
      return capacityCommand(rest, io, help);
    }
    if (command === 'config') {
      const { configCommand } = await import('./config-command.ts');
      return configCommand(rest, io, help);
    }
    throw new InvalidArgumentError(`unknown command "${command}" (commands: ${ALL_COMMANDS.join(', ')}; see zkp --help)`);
  } catch (error) {
    return reportError(error, io);
  }
}

/** One line on stderr; the exit code of the error's code. */
export function reportError(error: unknown, io: CliStreams): number {
  if (error instanceof ZkpError && error.code !== 'INTERNAL') {
    io.stderr.write(`zkp: ${firstLine(error.message)}\n`);
    return EXIT_CODES[error.code];
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`zkp: internal error: ${firstLine(message)} (set ZKP_DEBUG=1 for details)\n`);
  if ((io.env ?? process.env).ZKP_DEBUG === '1' && error instanceof Error) io.stderr.write(`${error.stack ?? ''}\n`);
  return EXIT_CODES.INTERNAL;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
