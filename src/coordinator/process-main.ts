/**
 * A coordinator process from a few flags, for tests and by hand until the
 * CLI's `zkp coordinator` (src/config) is the way in:
 *
 *   tsx src/coordinator/process-main.ts --id c1 --data-dir /tmp/c1 \
 *     --peers c1@127.0.0.1:7001/127.0.0.1:8001,c2@...,c3@... \
 *     [--http-listen 127.0.0.1:0] [--database-url postgresql://...]
 *
 * stdout: one JSON line per event ("ready" with id, grpc, http, pid; then
 * "leader-change", "closed"); logs (pino JSON) on stderr. SIGTERM or SIGINT
 * close it cleanly.
 */
import { parseArgs } from 'node:util';
import { EXIT_CODES, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import type { PeerInfo } from '../raft/driver/index.ts';
import { type CoordinatorOptions, runCoordinatorProcess } from './main.ts';

const USAGE = `usage: tsx src/coordinator/process-main.ts --id ID --data-dir DIR --peers LIST [flags]

  --id ID                      this coordinator's id (one of --peers)
  --cluster-id NAME            default zkp
  --data-dir DIR               Raft log and upload spool
  --peers LIST                 id@raftHost:port/clientHost:port, comma-separated, this node included
  --join                       start as a non-member, to be added (AddCoordinator)
  --api-listen HOST:PORT       client gRPC (default: this node's client address)
  --http-listen HOST:PORT      /health and the JSON API (default 127.0.0.1:0)
  --database-url URL           PostgreSQL; empty: no store (also DATABASE_URL)
  --tick-ms MS --election-ticks N --heartbeat-ticks N --snapshot-every N
  --lease-ms MS --queue-max N --max-attempts N --inline-input-max-bytes N
  --log-level LEVEL            fatal, error, warn, info, debug, trace, silent (default info)`;

export function parsePeers(text: string): Map<string, PeerInfo> {
  const peers = new Map<string, PeerInfo>();
  for (const item of text.split(',').filter((s) => s.length > 0)) {
    const match = /^([^@]+)@([^/]+:\d+)\/([^/]+:\d+)$/.exec(item);
    if (match === null) throw new InvalidArgumentError(`--peers: ${JSON.stringify(item)} is not id@raftHost:port/clientHost:port`);
    if (peers.has(match[1]!)) throw new InvalidArgumentError(`--peers: ${match[1]} is listed twice`);
    peers.set(match[1]!, { raftAddress: match[2]!, clientAddress: match[3]! });
  }
  return peers;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

function defined<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        id: { type: 'string' },
        'cluster-id': { type: 'string' },
        'data-dir': { type: 'string' },
        peers: { type: 'string' },
        join: { type: 'boolean' },
        'api-listen': { type: 'string' },
        'http-listen': { type: 'string' },
        'database-url': { type: 'string' },
        'tick-ms': { type: 'string' },
        'election-ticks': { type: 'string' },
        'heartbeat-ticks': { type: 'string' },
        'snapshot-every': { type: 'string' },
        'lease-ms': { type: 'string' },
        'queue-max': { type: 'string' },
        'max-attempts': { type: 'string' },
        'inline-input-max-bytes': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message.split('. ')[0]} (--help lists the flags)`);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const text = (name: string): string | undefined => values[name] as string | undefined;
  for (const required of ['id', 'data-dir', 'peers']) if (text(required) === undefined) throw new InvalidArgumentError(`--${required} is required`);
  const options: Omit<CoordinatorOptions, 'logger'> = defined({
    nodeId: text('id')!,
    clusterId: text('cluster-id'),
    peers: parsePeers(text('peers')!),
    dataDir: text('data-dir')!,
    join: values.join === true,
    apiListen: text('api-listen'),
    httpListen: text('http-listen'),
    databaseUrl: text('database-url') ?? process.env.DATABASE_URL ?? '',
    raft: defined({
      tick_ms: integer('tick-ms', text('tick-ms')),
      electionTicks: integer('election-ticks', text('election-ticks')),
      heartbeatTicks: integer('heartbeat-ticks', text('heartbeat-ticks')),
      snapshotEvery_entries: integer('snapshot-every', text('snapshot-every')),
    }),
    jobs: defined({
      lease_ms: integer('lease-ms', text('lease-ms')),
      queueMax: integer('queue-max', text('queue-max')),
      maxAttempts: integer('max-attempts', text('max-attempts')),
      inlineInputMaxBytes: integer('inline-input-max-bytes', text('inline-input-max-bytes')),
    }),
  });
  await runCoordinatorProcess(options, text('log-level') ?? 'info');
}

main().catch((error: unknown) => {
  const code = error instanceof ZkpError ? error.code : 'INTERNAL';
  process.stderr.write(`coordinator: ${code}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ZkpError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL);
});
