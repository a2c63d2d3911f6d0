/**
 * One worker process, until `zkp worker` (the CLI) exists:
 *
 *   tsx src/worker/process-main.ts --coordinators 127.0.0.1:7101,127.0.0.1:7102 \
 *     [--id ID] [--cache-dir DIR] [--backends native,snarkjs] [--slots N] \
 *     [--drain-grace-ms MS] [--log-level info]
 *
 * stdout: one JSON line per event: {"event":"ready", id, backends, pid} once
 * registered, {"event":"closed", id} at the end. Logs (pino JSON) go to stderr.
 * SIGTERM or SIGINT drain the worker (running jobs finish within the grace
 * period or are handed back), then it exits 0; a second signal closes it at
 * once. A start-up error prints one line on stderr and exits with the
 * error's code (src/errors EXIT_CODES).
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CancelledError, EXIT_CODES, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import { startWorker } from './main.ts';

const USAGE = `usage: tsx src/worker/process-main.ts --coordinators HOST:PORT[,...] [flags]

A prover worker: registers with the coordinator cluster, proves the jobs it is
assigned, drains on SIGTERM.

  --coordinators LIST   coordinator client addresses, comma-separated (any of them)
  --id ID               worker id (default hostname-pid)
  --cache-dir DIR       circuit artifact cache (default ~/.cache/zkp/circuits)
  --backends LIST       backends to use, best first (default: detected)
  --slots N             jobs at once (default 1)
  --drain-grace-ms MS   on SIGTERM, time for a running job to finish (default 30000)
  --log-level LEVEL     pino level on stderr (default info)
  --help                this text`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        coordinators: { type: 'string' },
        id: { type: 'string' },
        'cache-dir': { type: 'string' },
        backends: { type: 'string' },
        slots: { type: 'string' },
        'drain-grace-ms': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message.split('. ')[0]} (--help lists the flags)`);
  }
}

async function main(): Promise<void> {
  const values = parseFlags(process.argv.slice(2));
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const logLevel = values['log-level']!;
  if (!LOG_LEVELS.includes(logLevel)) throw new InvalidArgumentError(`--log-level ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  if (values.coordinators === undefined) throw new InvalidArgumentError('--coordinators is required (host:port, comma-separated)');
  const logger = pino({ level: logLevel, base: { role: 'worker', pid: process.pid } }, pino.destination(2));

  // A signal before registration finished stops the start; after it, it drains.
  const starting = new AbortController();
  let drainRequested = false;
  let running: Awaited<ReturnType<typeof startWorker>> | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (running === null) {
      logger.info({ signal }, 'signal before registration; stopping');
      starting.abort();
      return;
    }
    if (!drainRequested) {
      drainRequested = true;
      logger.info({ signal }, 'signal: draining');
      void running.drain();
      return;
    }
    logger.warn({ signal }, 'second signal: closing now');
    void running.close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const slots = integerFlag('slots', values.slots);
  const drainGrace_ms = integerFlag('drain-grace-ms', values['drain-grace-ms']);
  try {
    running = await startWorker({
      coordinators: values.coordinators.split(',').filter((address) => address.trim() !== ''),
      ...(values.id === undefined ? {} : { id: values.id }),
      ...(values['cache-dir'] === undefined ? {} : { cacheDir: values['cache-dir'] }),
      ...(values.backends === undefined ? {} : { backends: values.backends.split(',') }),
      ...(slots === undefined ? {} : { slots }),
      ...(drainGrace_ms === undefined ? {} : { drainGrace_ms }),
      signal: starting.signal,
      logger,
    });
  } catch (error) {
    if (error instanceof CancelledError && starting.signal.aborted) {
      emit({ event: 'closed', id: values.id ?? null });
      return;
    }
    throw error;
  }
  emit({ event: 'ready', id: running.id, backends: running.backends, pid: process.pid });
  await running.closed;
  emit({ event: 'closed', id: running.id });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const code = error instanceof ZkpError ? error.code : 'INTERNAL';
    process.stderr.write(`zkp worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT_CODES[code]);
  },
);
