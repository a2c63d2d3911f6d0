/**
 * `zkp coordinator`, `zkp worker` and `zkp dev`: each loads its config
 * (flags > ZKP_* environment > config file > defaults; src/config) and hands
 * the validated object to its process's composition root, loaded only now:
 *
 *   src/coordinator/main.ts  coordinatorOptionsOf(config) -> runCoordinatorProcess(options, logLevel)
 *   src/worker/main.ts       startWorker(WorkerOptions)
 *   src/dev/main.ts          runDev(config: DevConfig, io: CliStreams): Promise<number>   (the exit code; runs until Ctrl-C)
 *
 * A coordinator or worker prints JSON lines on stdout: {"event":"ready",...}
 * once serving (the dev cluster waits for it), {"event":"closed",...} at the
 * end. SIGTERM or SIGINT stop it cleanly (a worker drains first: its running
 * jobs finish within worker.drainGraceMs or are handed back); a second signal
 * stops a worker at once.
 */
import type { WorkerConfig } from '../config/index.ts';
import { loadConfig, splitConfigArgs } from '../config/index.ts';
import { CancelledError, InvalidArgumentError } from '../errors/index.ts';
import type { WorkerLogger, WorkerOptions } from '../worker/options.ts';
import { parseArgs } from './args.ts';
import type { CliStreams } from './streams.ts';

export async function runProcessCommand(
  command: 'coordinator' | 'worker' | 'dev',
  args: readonly string[],
  io: CliStreams,
  help: () => number,
): Promise<number> {
  const split = splitConfigArgs(args, command);
  const parsed = parseArgs(split.rest, { valued: [], booleans: ['help'] });
  if (parsed.flags.has('help')) return help();
  if (parsed.positionals.length > 0) {
    throw new InvalidArgumentError(
      `zkp ${command} takes no arguments, got ${parsed.positionals.join(' ')} (settings are --key value flags; see zkp config --print --for ${command})`,
    );
  }
  const input = {
    flags: split.flags,
    configPath: split.configPath,
    ...(io.env === undefined ? {} : { env: io.env }),
    ...(io.cwd === undefined ? {} : { cwd: io.cwd }),
  };
  switch (command) {
    case 'coordinator': {
      const { config } = loadConfig('coordinator', input);
      const { coordinatorOptionsOf, runCoordinatorProcess } = await import('../coordinator/main.ts');
      const { silentLogger } = await import('../raft/logger.ts');
      // runCoordinatorProcess makes its own pino logger at the configured level.
      const { logger: _unused, ...options } = coordinatorOptionsOf(config, silentLogger);
      await runCoordinatorProcess(options, config.log.level);
      // It prints the ready line and exits the process itself on SIGTERM/SIGINT (or a fatal error).
      return await new Promise<number>(() => {});
    }
    case 'worker': {
      const { config } = loadConfig('worker', input);
      return runWorker(config, io);
    }
    case 'dev': {
      const { config } = loadConfig('dev', input);
      // A literal specifier, so the build rewrites it to the compiled main.js.
      const { runDev } = await import('../dev/main.ts');
      return runDev(config, io);
    }
  }
}

/** WorkerConfig onto src/worker/options.ts WorkerOptions. */
export function workerOptions(config: WorkerConfig, logger: WorkerLogger, signal: AbortSignal): WorkerOptions {
  return {
    id: config.worker.id,
    coordinators: config.coordinators,
    ...(config.worker.backends.length === 0 ? {} : { backends: config.worker.backends }),
    cacheDir: config.worker.cacheDir,
    slots: config.worker.slots,
    drainGrace_ms: config.worker.drainGraceMs,
    signal,
    logger,
  };
}

function emit(io: CliStreams, event: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify(event)}\n`);
}

/** One worker until it closes: a signal before registration stops the start; after it, the first drains, the second closes at once. */
async function runWorker(config: WorkerConfig, io: CliStreams): Promise<number> {
  const [{ startWorker }, { default: pino }] = await Promise.all([import('../worker/main.ts'), import('pino')]);
  const logger = pino({ level: config.log.level, base: { role: 'worker', worker: config.worker.id, pid: process.pid } }, pino.destination(2));
  const starting = new AbortController();
  let running: Awaited<ReturnType<typeof startWorker>> | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (running === null) {
      logger.info({ signal }, 'signal before registration; stopping');
      starting.abort();
    } else if (signals === 1) {
      logger.info({ signal }, 'signal: draining');
      void running.drain();
    } else {
      logger.warn({ signal }, 'second signal: closing now');
      void running.close();
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    running = await startWorker(workerOptions(config, logger, starting.signal));
  } catch (error) {
    if (error instanceof CancelledError && starting.signal.aborted) {
      emit(io, { event: 'closed', id: config.worker.id });
      return 0;
    }
    throw error;
  }
  emit(io, { event: 'ready', role: 'worker', id: running.id, backends: running.backends, pid: process.pid });
  await running.closed;
  emit(io, { event: 'closed', id: running.id });
  return 0;
}
