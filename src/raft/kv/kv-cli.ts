/**
 * `npm run raft:kv`: talk to a running cluster of node-main processes by
 * hand: put and get through whichever node leads (following redirects, as a
 * program would with KvClusterClient), and each node's status.
 */
import { parseArgs } from 'node:util';
import { EXIT_CODES, InvalidArgumentError, NotFoundError, UnavailableError, ZkpError } from '../../errors/index.ts';
import { KvClient, KvClusterClient } from './kv-client.ts';

const USAGE = `usage: npm run raft:kv -- --cluster ADDRESSES <command>

  --cluster ADDRESSES  the nodes' client addresses (host:port, comma-separated);
                       any of them will do, requests follow the leader
  --timeout-ms MS      give up after this long without an answer (default 5000)

commands:
  put KEY VALUE        store VALUE (UTF-8 text); prints the log index it was
                       applied at and the leader that took it
  get KEY              linearizable read; prints the value (exit 3 if absent)
  status               each node's role, term, leader, commit and applied index`;

interface Command {
  readonly addresses: string[];
  readonly timeout_ms: number;
  readonly words: string[];
}

function parse(argv: string[]): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { cluster: { type: 'string' }, 'timeout-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.split('. ')[0]!);
  }
  if (parsed.values.help === true) return 'help';
  const cluster = parsed.values.cluster;
  if (cluster === undefined) throw new InvalidArgumentError('--cluster is required');
  const addresses = cluster.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  for (const address of addresses) {
    if (!/^[^\s/:]+:\d{1,5}$/.test(address)) throw new InvalidArgumentError(`--cluster: ${JSON.stringify(address)} is not host:port`);
  }
  if (addresses.length === 0) throw new InvalidArgumentError('--cluster needs at least one host:port');
  const timeoutText = parsed.values['timeout-ms'] ?? '5000';
  const timeout_ms = Number(timeoutText);
  if (!Number.isSafeInteger(timeout_ms) || timeout_ms < 1) throw new InvalidArgumentError(`--timeout-ms needs a positive integer, got ${JSON.stringify(timeoutText)}`);
  const words = parsed.positionals;
  const [verb, ...rest] = words;
  const arity: Record<string, number> = { put: 2, get: 1, status: 0 };
  if (verb === undefined) throw new InvalidArgumentError('no command given (put, get or status)');
  if (!(verb in arity)) throw new InvalidArgumentError(`unknown command ${JSON.stringify(verb)} (put, get or status)`);
  if (rest.length !== arity[verb]) throw new InvalidArgumentError(`${verb} takes ${arity[verb]} argument${arity[verb] === 1 ? '' : 's'}, got ${rest.length}`);
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

async function run(command: Command, out: (line: string) => void): Promise<void> {
  const [verb, key, value] = command.words;
  if (verb === 'status') {
    const results = await Promise.all(
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
    for (const result of results) out(JSON.stringify(result));
    if (results.every((result) => 'error' in result)) throw new UnavailableError('no node answered');
    return;
  }
  // Retries spread over the timeout; the race below enforces it.
  const cluster = new KvClusterClient(command.addresses, 50, Math.ceil(command.timeout_ms / 50));
  try {
    if (verb === 'put') {
      const index = await withTimeout(cluster.put(key!, new TextEncoder().encode(value!)), command.timeout_ms, `put ${key}`);
      out(`ok: applied at index ${index} by the leader at ${cluster.currentLeaderAddress}`);
    } else {
      const found = await withTimeout(cluster.get(key!), command.timeout_ms, `get ${key}`);
      if (found === undefined) throw new NotFoundError(`key ${JSON.stringify(key)} is not set`);
      out(new TextDecoder().decode(found));
    }
  } finally {
    cluster.close();
  }
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
