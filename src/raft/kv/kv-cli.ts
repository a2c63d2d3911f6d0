/**
 * `npm run raft:kv`: talk to a running cluster of kv-node-main processes by
 * hand: put and get through whichever node leads (following redirects, as a
 * program would with KvClusterClient), each node's status, and membership
 * changes (add a learner, promote it, remove a member).
 */
import { parseArgs } from 'node:util';
import { EXIT_CODES, InvalidArgumentError, NotFoundError, UnavailableError, ZkpError } from '../../errors/index.ts';
import { isHostPort } from '../host-port.ts';
import { KvClient, KvClusterClient } from './kv-client.ts';
import type { MembershipRequest, MemberView } from './protocol.ts';

const USAGE = `usage: npm run raft:kv -- --cluster ADDRESSES <command>

  --cluster ADDRESSES  the nodes' client addresses (host:port, comma-separated);
                       any of them will do, requests follow the leader
  --timeout-ms MS      give up after this long without an answer (default 5000)

commands:
  put KEY VALUE        store VALUE (UTF-8 text); prints the log index it was
                       applied at and the leader that took it
  get KEY              linearizable read; prints the value (exit 3 if absent)
  status               each node's role, term, leader, commit and applied index
  members              the configuration, as the leader (or else the first node
                       that answers) has applied it
  add-learner ID RAFT CLIENT
                       add node ID (started with --join) as a learner: it gets
                       the log but does not vote; RAFT and CLIENT are its
                       host:port addresses
  add-voter ID [RAFT CLIENT]
                       promote learner ID once it has caught up (or add a new
                       voter at once, with its addresses)
  remove ID            remove a voter or learner (the leader too: it steps down)
  transfer-leader ID   hand leadership to voter ID; returns once it leads`;

interface Command {
  readonly addresses: string[];
  readonly timeout_ms: number;
  readonly words: string[];
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { cluster: { type: 'string' }, 'timeout-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.split('. ')[0]!);
  }
}

function parse(argv: string[]): Command | 'help' {
  const parsed = parseFlags(argv);
  if (parsed.values.help === true) return 'help';
  const cluster = parsed.values.cluster;
  if (cluster === undefined) throw new InvalidArgumentError('--cluster is required');
  const addresses = cluster
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  for (const address of addresses) {
    if (!isHostPort(address)) throw new InvalidArgumentError(`--cluster: ${JSON.stringify(address)} is not host:port`);
  }
  if (addresses.length === 0) throw new InvalidArgumentError('--cluster needs at least one host:port');
  const timeoutText = parsed.values['timeout-ms'] ?? '5000';
  const timeout_ms = Number(timeoutText);
  if (!Number.isSafeInteger(timeout_ms) || timeout_ms < 1)
    throw new InvalidArgumentError(`--timeout-ms needs a positive integer, got ${JSON.stringify(timeoutText)}`);
  const words = parsed.positionals;
  const [verb, ...rest] = words;
  const arity: Record<string, readonly number[]> = {
    put: [2],
    get: [1],
    status: [0],
    members: [0],
    'add-learner': [3],
    'add-voter': [1, 3],
    remove: [1],
    'transfer-leader': [1],
  };
  const verbs = Object.keys(arity).join(', ');
  if (verb === undefined) throw new InvalidArgumentError(`no command given (${verbs})`);
  if (!(verb in arity)) throw new InvalidArgumentError(`unknown command ${JSON.stringify(verb)} (${verbs})`);
  const allowed = arity[verb]!;
  if (!allowed.includes(rest.length)) {
    const wanted = allowed.join(' or ');
    throw new InvalidArgumentError(`${verb} takes ${wanted} argument${wanted === '1' ? '' : 's'}, got ${rest.length}`);
  }
  if (verb === 'add-learner' || verb === 'add-voter') {
    for (const [what, address] of [
      ['RAFT', rest[1]],
      ['CLIENT', rest[2]],
    ] as const) {
      if (address !== undefined && !isHostPort(address)) throw new InvalidArgumentError(`${verb}: ${what} address ${JSON.stringify(address)} is not host:port`);
    }
  }
  return { addresses, timeout_ms, words };
}

/** Rejects with UnavailableError if `work` has not settled within timeout_ms. */
function withTimeout<T>(work: Promise<T>, timeout_ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`${what}: no answer within ${timeout_ms} ms (is a majority of the cluster running?)`)), timeout_ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function describeMembers(members: readonly MemberView[]): string[] {
  return members.map((m) => `${m.id} ${m.role} raft ${m.raftAddress ?? '(address unknown here)'} client ${m.clientAddress ?? '(address unknown here)'}`);
}

/** Every node's status, or why it did not answer, in the order of --cluster. */
async function statusOfEach(command: Command): Promise<({ address: string; status: Record<string, unknown> } | { address: string; error: string })[]> {
  return Promise.all(
    command.addresses.map(async (address) => {
      const client = new KvClient(address);
      try {
        return { address, status: await client.status(Math.min(command.timeout_ms, 2000)) };
      } catch (error) {
        return { address, error: (error as Error).message };
      } finally {
        client.close();
      }
    }),
  );
}

/** Runs `work` through whichever node leads, within --timeout-ms (its retries are spread over it). */
async function throughLeader(command: Command, what: string, work: (cluster: KvClusterClient) => Promise<void>): Promise<void> {
  const cluster = new KvClusterClient(command.addresses, 50, Math.ceil(command.timeout_ms / 50));
  try {
    await withTimeout(work(cluster), command.timeout_ms, what);
  } finally {
    cluster.close();
  }
}

async function run(command: Command, out: (line: string) => void): Promise<void> {
  const [verb, key, value] = command.words;
  if (verb === 'status' || verb === 'members') {
    const results = await statusOfEach(command);
    if (verb === 'status') for (const result of results) out(JSON.stringify(result));
    const answered = results.flatMap((result) => ('status' in result ? [result.status] : []));
    if (answered.length === 0) throw new UnavailableError('no node answered');
    if (verb === 'status') return;
    const chosen = answered.find((status) => status.role === 'leader') ?? answered[0]!;
    out(`as applied by ${String(chosen.id)} (${String(chosen.role)}, commit ${String(chosen.commit)}):`);
    for (const line of describeMembers(chosen.members as MemberView[])) out(`  ${line}`);
    return;
  }
  if (verb === 'add-learner' || verb === 'add-voter' || verb === 'remove') {
    const [, id, raftAddress, clientAddress] = command.words;
    const request: MembershipRequest =
      verb === 'remove' || raftAddress === undefined ? { op: verb, id: id! } : { op: verb, id: id!, raftAddress, clientAddress: clientAddress! };
    await throughLeader(command, `${verb} ${id}`, async (cluster) => {
      const result = await cluster.changeMembership(request);
      out(`ok: ${verb} ${id} applied at index ${result.index} by the leader at ${cluster.currentLeaderAddress}; members now:`);
      for (const line of describeMembers(result.members)) out(`  ${line}`);
    });
    return;
  }
  if (verb === 'transfer-leader') {
    await throughLeader(command, `transfer-leader ${key}`, async (cluster) => {
      const led = await cluster.transferLeadership(key!);
      out(`ok: ${led.leaderId} leads (term ${led.term}, client address ${led.leaderAddress ?? 'unknown'})`);
    });
    return;
  }
  if (verb === 'put') {
    await throughLeader(command, `put ${key}`, async (cluster) => {
      const index = await cluster.put(key!, new TextEncoder().encode(value!));
      out(`ok: applied at index ${index} by the leader at ${cluster.currentLeaderAddress}`);
    });
    return;
  }
  await throughLeader(command, `get ${key}`, async (cluster) => {
    const found = await cluster.get(key!);
    if (found === undefined) throw new NotFoundError(`key ${JSON.stringify(key)} is not set`);
    out(new TextDecoder().decode(found));
  });
}

async function main(): Promise<number> {
  try {
    const command = parse(process.argv.slice(2));
    if (command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    await run(command, (line) => process.stdout.write(`${line}\n`));
    return 0;
  } catch (error) {
    const code = error instanceof ZkpError ? error.code : 'INTERNAL';
    process.stderr.write(`raft:kv: ${code}: ${error instanceof Error ? error.message : String(error)}\n`);
    if (error instanceof InvalidArgumentError) process.stderr.write(`\n${USAGE}\n`);
    return error instanceof ZkpError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL;
  }
}

process.exit(await main());
