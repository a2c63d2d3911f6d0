/**
 * The KV example's composition root: one Raft node process serving the
 * example KV state machine behind exactly-once sessions. It wires RaftNode
 * (the driver's public API), ExactlyOnceStateMachine and KvService; the driver
 * knows none of them. Used by the cluster tests and bench/raft.ts; run with tsx:
 *
 *   tsx src/raft/kv/kv-node-main.ts --id a --cluster-id demo --data-dir /tmp/a \
 *     --peers a@127.0.0.1:7001/127.0.0.1:8001,b@127.0.0.1:7002/127.0.0.1:8002,c@127.0.0.1:7003/127.0.0.1:8003
 *
 * Each peer is id@raftHost:raftPort/clientHost:clientPort (this node included).
 * A node added to a running cluster later starts with --join (docs/raft-driver.md).
 * Prints one JSON line per event on stdout ("ready", "leader-change", "closed");
 * logs (pino JSON) go to stderr. SIGTERM/SIGINT close gracefully.
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { EXIT_CODES, InvalidArgumentError, ZkpError } from '../../errors/index.ts';
import { type PeerInfo, RaftNode } from '../driver/index.ts';
import { ExactlyOnceStateMachine } from '../sessions/exactly-once.ts';
import { KvService } from './kv-service.ts';
import { KvStateMachine } from './kv-state-machine.ts';

function parsePeers(text: string): Map<string, PeerInfo> {
  const peers = new Map<string, PeerInfo>();
  for (const item of text.split(',').filter((s) => s.length > 0)) {
    const match = /^([^@]+)@([^/]+:\d+)\/([^/]+:\d+)$/.exec(item);
    if (match === null) throw new InvalidArgumentError(`--peers: ${JSON.stringify(item)} is not id@raftHost:port/clientHost:port`);
    if (peers.has(match[1]!)) throw new InvalidArgumentError(`--peers: node ${match[1]} is listed twice`);
    peers.set(match[1]!, { raftAddress: match[2]!, clientAddress: match[3]! });
  }
  return peers;
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return n;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const USAGE = `usage: npx tsx src/raft/kv/kv-node-main.ts --id ID --cluster-id NAME --data-dir DIR --peers LIST [flags]

One Raft node serving the example key-value state machine.

  --id ID               this node's id (it must be in --peers)
  --cluster-id NAME     the cluster's name; a data directory of another cluster
                        or node is refused
  --data-dir DIR        the node's log, hard state and snapshot (created if
                        missing; one process at a time)
  --peers LIST          every member, this node included, comma-separated, each
                        id@raftHost:raftPort/clientHost:clientPort; a new
                        cluster's first voters are exactly these (give every
                        initial node the same list)
  --join                this node is not a member yet: start with an empty log
                        and wait to be added (npm run raft:kv -- add-learner);
                        --peers then lists the members to reach and this node.
                        Ignored once the data directory holds a log
  --tick-ms MS          clock tick (default 10)
  --election-ticks N    election timeout in ticks, randomised up to 2N (default 10)
  --heartbeat-ticks N   heartbeat interval in ticks (default 2)
  --snapshot-every N    applied entries between snapshots (default 50000)
  --seed N              the election randomness (default random; printed)
  --log-level LEVEL     pino level on stderr: fatal, error, warn, info, debug,
                        trace or silent (default warn)
  --help                this text

stdout: one JSON line per event (ready, leader-change, membership-change,
fatal, closed).
SIGTERM or SIGINT close it gracefully.`;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        id: { type: 'string' },
        'cluster-id': { type: 'string' },
        'data-dir': { type: 'string' },
        peers: { type: 'string' },
        join: { type: 'boolean' },
        'tick-ms': { type: 'string' },
        'election-ticks': { type: 'string' },
        'heartbeat-ticks': { type: 'string' },
        'snapshot-every': { type: 'string' },
        seed: { type: 'string' },
        'log-level': { type: 'string', default: 'warn' },
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
    process.exit(0);
  }
  const logLevel = values['log-level']!;
  if (!LOG_LEVELS.includes(logLevel)) throw new InvalidArgumentError(`--log-level ${JSON.stringify(logLevel)} is not one of ${LOG_LEVELS.join(', ')}`);
  for (const required of ['id', 'cluster-id', 'data-dir', 'peers'] as const) {
    if (values[required] === undefined) throw new InvalidArgumentError(`--${required} is required`);
  }
  const id = values.id!;
  const peers = parsePeers(values.peers!);
  const self = peers.get(id);
  if (self === undefined) throw new InvalidArgumentError(`--peers does not list this node (${id})`);
  const logger = pino({ level: logLevel, base: { node: id } }, pino.destination(2));
  // Puts from KvClusterClient carry a client session, so a retried put is applied once.
  const stateMachine = new ExactlyOnceStateMachine(new KvStateMachine());
  const options = {
    id,
    clusterId: values['cluster-id']!,
    dataDir: values['data-dir']!,
    peers,
    join: values.join === true,
    stateMachine,
    logger,
    ...(integerFlag('tick-ms', values['tick-ms']) !== undefined ? { tick_ms: integerFlag('tick-ms', values['tick-ms'])! } : {}),
    ...(integerFlag('election-ticks', values['election-ticks']) !== undefined
      ? { electionTicks: integerFlag('election-ticks', values['election-ticks'])! }
      : {}),
    ...(integerFlag('heartbeat-ticks', values['heartbeat-ticks']) !== undefined
      ? { heartbeatTicks: integerFlag('heartbeat-ticks', values['heartbeat-ticks'])! }
      : {}),
    ...(integerFlag('snapshot-every', values['snapshot-every']) !== undefined
      ? { snapshotEvery_entries: integerFlag('snapshot-every', values['snapshot-every'])! }
      : {}),
    ...(integerFlag('seed', values.seed) !== undefined ? { seed: integerFlag('seed', values.seed)! } : {}),
  };
  const node = await RaftNode.start(options);
  const service = new KvService(node, stateMachine, logger);
  const clientPort = await service.start(self.clientAddress);
  node.on('leader-change', (change) => emit({ event: 'leader-change', id, ...change }));
  node.on('membership-change', (change) => emit({ event: 'membership-change', id, index: change.index, ...change.change, members: change.members }));
  node.on('fatal', (error) => {
    emit({ event: 'fatal', id, error: error.message });
    process.exit(70);
  });
  emit({ event: 'ready', id, raftPort: node.raftPort, clientPort, pid: process.pid, seed: node.options.seed });

  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await service.close();
    await node.close();
    emit({ event: 'closed', id });
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((error: unknown) => {
  const code = error instanceof ZkpError ? error.code : 'INTERNAL';
  process.stderr.write(`raft node: ${code}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof ZkpError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL);
});
