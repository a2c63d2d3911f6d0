/**
 * The embedded database as a process of its own (the dev cluster runs one
 * that every coordinator connects to):
 *
 *   tsx src/store/embedded-main.ts --data-dir DIR [--port N] [--host H] [--connections-max N]
 *
 * Prints one JSON line on stdout when it serves:
 *   {"event":"ready","url":"postgresql://postgres@127.0.0.1:PORT/postgres","port":PORT,"pid":PID,"data_dir":DIR}
 * logs JSON lines on stderr, and on SIGTERM or SIGINT stops serving, closes
 * the database and exits 0. A bad argument exits 2, a directory or port in
 * use exits 10 (EXIT_CODES in src/errors).
 */
import { parseArgs } from 'node:util';
import { EXIT_CODES, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import { EMBEDDED_DEFAULTS } from './embedded/defaults.ts';

const STOP_MS_MAX = 10_000;

interface EmbeddedMainArgs {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly connections_max: number;
}

function parseMainArgs(argv: string[]): EmbeddedMainArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'data-dir': { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'connections-max': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}; usage: embedded-main --data-dir DIR [--port N] [--host H] [--connections-max N]`);
  }
  const dataDir = values['data-dir'];
  if (dataDir === undefined || dataDir === '') throw new InvalidArgumentError('--data-dir DIR is required');
  return {
    dataDir,
    host: values.host ?? EMBEDDED_DEFAULTS.host,
    port: integerArg('--port', values.port, EMBEDDED_DEFAULTS.port),
    connections_max: integerArg('--connections-max', values['connections-max'], EMBEDDED_DEFAULTS.connections_max),
  };
}

function integerArg(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), name: 'embedded-database', pid: process.pid, msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  const args = parseMainArgs(process.argv.slice(2));
  log('info', 'starting PGlite (the first start initialises the data directory)', { data_dir: args.dataDir });
  // Loaded after the arguments are checked: importing PGlite takes a second or more.
  const { startEmbeddedDatabase } = await import('./embedded/embedded-database.ts');
  const database = await startEmbeddedDatabase({
    dataDir: args.dataDir,
    host: args.host,
    port: args.port,
    connections_max: args.connections_max,
    onInternalError: (error) => log('error', 'PGlite failed a request; the client got an internal error', { err: String(error) }),
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log('info', 'stopping', { signal });
    // A close that hangs (a wedged PGlite) must not keep the process: the data on disk is what a kill -9 would leave, which PGlite recovers from.
    setTimeout(() => {
      log('error', `did not stop within ${STOP_MS_MAX} ms; exiting`);
      process.exit(1);
    }, STOP_MS_MAX).unref();
    database.close().then(
      () => {
        log('info', 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log('error', 'failed to stop cleanly', { err: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: database.url, port: database.port, pid: process.pid, data_dir: database.dataDir })}\n`);
  log('info', 'serving', { url: database.url });
}

main().catch((error: unknown) => {
  log('error', error instanceof Error ? error.message : String(error));
  process.exit(error instanceof ZkpError ? EXIT_CODES[error.code] : 1);
});
