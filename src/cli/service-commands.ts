/**
 * The client commands of the proving service: circuit add|list, submit, job,
 * jobs, cancel, status. Each checks its arguments before it connects (a
 * usage error needs no cluster), then talks to the coordinators through
 * ZkpClient (which follows the leader). Results go to stdout, progress and
 * notes to stderr.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { CircuitMessage, ClusterStatusMessage, JobMessage, JobStateName } from '../api/types.ts';
import { ZkpClient } from '../client/zkp-client.ts';
import { loadConfig, type SplitArgs, splitConfigArgs } from '../config/index.ts';
import { CancelledError, DeadlineExceededError, type ErrorCode, EXIT_CODES, InvalidArgumentError, NotFoundError, ZkpError } from '../errors/index.ts';
import { parseArgs, type ParsedArgs } from './args.ts';
import { resolveCoordinators } from './coordinators.ts';
import { formatDuration_ms, parseDuration_ms } from './duration.ts';
import { describe, JobProgress } from './progress.ts';
import type { CliStreams } from './streams.ts';
import { table } from './tables.ts';

export type ClientCommand = 'circuit' | 'submit' | 'job' | 'jobs' | 'cancel' | 'status';

const JOB_STATES: readonly JobStateName[] = ['QUEUED', 'ASSIGNED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED'];
const LIST_LIMIT_DEFAULT = 50;
const LIST_LIMIT_MAX = 100_000;

export async function runClientCommand(command: ClientCommand, args: readonly string[], io: CliStreams, help: () => number): Promise<number> {
  const split = splitConfigArgs(args, 'client');
  switch (command) {
    case 'circuit':
      return circuitCommand(split, io, help);
    case 'submit':
      return submitCommand(split, io, help);
    case 'job':
      return jobCommand(split, io, help);
    case 'jobs':
      return jobsCommand(split, io, help);
    case 'cancel':
      return cancelCommand(split, io, help);
    case 'status':
      return statusCommand(split, io, help);
  }
}

/** Loads the client config, finds the coordinators, runs `body` with a client, closes it. */
async function withClient<T>(split: SplitArgs, io: CliStreams, body: (client: ZkpClient) => Promise<T>): Promise<T> {
  const cwd = io.cwd ?? process.cwd();
  const { config } = loadConfig('client', { flags: split.flags, configPath: split.configPath, cwd, ...(io.env === undefined ? {} : { env: io.env }) });
  const client = new ZkpClient(resolveCoordinators(config, cwd));
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

function positionals(parsed: ParsedArgs, names: readonly string[], usage: string): string[] {
  if (parsed.positionals.length !== names.length) {
    throw new InvalidArgumentError(
      `usage: ${usage} (expected ${names.join(' ')}, got ${parsed.positionals.length === 0 ? 'nothing' : parsed.positionals.join(' ')})`,
    );
  }
  return parsed.positionals;
}

function integerOption(parsed: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const text = parsed.values.get(name);
  if (text === undefined) return undefined;
  if (!/^[-+]?\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new InvalidArgumentError(`option --${name} must be an integer in ${min}..${max}, got "${text}"`);
  }
  return Number(text);
}

// ---- circuit ----

const CIRCUIT_ADD_USAGE = 'zkp circuit add <circuit.wasm> <circuit.zkey> [--vkey vk.json] [--name N]';

async function circuitCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const [sub, ...rest] = split.rest;
  if (sub === '--help' || sub === '-h') return help();
  if (sub === 'add') {
    const parsed = parseArgs(rest, { valued: ['vkey', 'name'], booleans: ['help'] });
    if (parsed.flags.has('help')) return help();
    const [wasm, zkey] = positionals(parsed, ['<circuit.wasm>', '<circuit.zkey>'], CIRCUIT_ADD_USAGE) as [string, string];
    const name = parsed.values.get('name') ?? basename(zkey, extname(zkey));
    const vkey = parsed.values.get('vkey');
    return withClient(split, io, async (client) => {
      const { circuit, existing } = await client.registerCircuit({ name, wasm, zkey, ...(vkey === undefined ? {} : { vkey }) });
      io.stdout.write(`${circuit.id}\n`);
      io.stderr.write(`zkp: circuit ${circuit.name} ${existing ? 'was already registered' : 'registered'} (${circuit.n_constraints} constraints)\n`);
      return 0;
    });
  }
  if (sub === 'list') {
    const parsed = parseArgs(rest, { valued: [], booleans: ['json', 'help'] });
    if (parsed.flags.has('help')) return help();
    positionals(parsed, [], 'zkp circuit list [--json]');
    return withClient(split, io, async (client) => {
      const circuits = await client.listCircuits();
      io.stdout.write(parsed.flags.has('json') ? `${JSON.stringify(circuits, null, 2)}\n` : circuitTable(circuits));
      return 0;
    });
  }
  throw new InvalidArgumentError(`usage: zkp circuit add|list (got ${sub === undefined ? 'nothing' : `"${sub}"`})`);
}

function circuitTable(circuits: readonly CircuitMessage[]): string {
  if (circuits.length === 0) return 'no circuits registered\n';
  return table(
    ['ID', 'NAME', 'CONSTRAINTS', 'PUBLIC', 'ZKEY BYTES', 'REGISTERED'],
    circuits.map((c) => [c.id, c.name, String(c.n_constraints), String(c.n_public), String(c.zkey_bytes), time(c.registered_ms)]),
  );
}

// ---- submit ----

const SUBMIT_USAGE =
  'zkp submit <circuit> <input.json|witness.wtns> [--wait] [--proof proof.json] [--public public.json] [--idempotency-key K] [--priority N] [--deadline 30s] [--max-attempts N]';
const SUBMIT_SPEC = { valued: ['proof', 'public', 'idempotency-key', 'priority', 'deadline', 'max-attempts'], booleans: ['wait', 'quiet', 'help'] } as const;

interface InputFile {
  readonly inputJson?: string;
  readonly witness?: Uint8Array;
}

/** A .wtns (by extension or by its magic "wtns") or an input JSON file. */
async function readInputFile(path: string): Promise<InputFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new NotFoundError(`cannot read input ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (extname(path) === '.wtns' || bytes.subarray(0, 4).toString('latin1') === 'wtns') return { witness: bytes };
  const text = bytes.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${path} is not valid JSON (nor a .wtns): ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InvalidArgumentError(`${path} must hold a JSON object of input signals`);
  return { inputJson: text };
}

async function submitCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(split.rest, SUBMIT_SPEC);
  if (parsed.flags.has('help')) return help();
  const [circuit, inputPath] = positionals(parsed, ['<circuit>', '<input.json|witness.wtns>'], SUBMIT_USAGE) as [string, string];
  const wait = parsed.flags.has('wait');
  const proofPath = parsed.values.get('proof');
  const publicPath = parsed.values.get('public');
  if (!wait && (proofPath !== undefined || publicPath !== undefined)) throw new InvalidArgumentError('--proof and --public need --wait');
  const priority = integerOption(parsed, 'priority', -(2 ** 31), 2 ** 31 - 1);
  const maxAttempts = integerOption(parsed, 'max-attempts', 1, 1000);
  const deadline = parsed.values.get('deadline');
  const timeout_ms = deadline === undefined ? undefined : parseDuration_ms(deadline, '--deadline');
  const idempotencyKey = parsed.values.get('idempotency-key');
  const input = await readInputFile(inputPath);
  return withClient(split, io, async (client) => {
    const { job, existing } = await client.submitJob({
      circuit,
      ...input,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...(priority === undefined ? {} : { priority }),
      ...(timeout_ms === undefined ? {} : { timeout_ms }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
    });
    io.stdout.write(`${job.id}\n`);
    if (existing) io.stderr.write(`zkp: the idempotency key names an earlier job: ${job.id} (${job.state})\n`);
    if (!wait) return 0;
    const progress = parsed.flags.has('quiet') ? null : new JobProgress(io.stderr);
    progress?.update(job);
    let final: JobMessage;
    try {
      final = await client.watchJob(job.id, (event) => progress?.update(event));
    } finally {
      progress?.finish();
    }
    return finishJob(final, proofPath, publicPath, io);
  });
}

/** After --wait: write the proof files of a success; a failure becomes the error of its code. */
async function finishJob(job: JobMessage, proofPath: string | undefined, publicPath: string | undefined, io: CliStreams): Promise<number> {
  switch (job.state) {
    case 'SUCCEEDED': {
      if (proofPath !== undefined) await writeFile(proofPath, job.proof_json);
      if (publicPath !== undefined) await writeFile(publicPath, job.public_json);
      const took = job.finished_ms > 0 && job.submitted_ms > 0 ? ` in ${formatDuration_ms(job.finished_ms - job.submitted_ms)}` : '';
      const written = proofPath === undefined && publicPath === undefined ? '; proof not written (give --proof and --public)' : '';
      io.stderr.write(`zkp: ${job.id} SUCCEEDED${took} (prove ${formatDuration_ms(job.prove_ms)} on ${job.worker_id || 'a worker'})${written}\n`);
      return 0;
    }
    case 'CANCELLED':
      throw new CancelledError(`${job.id} was cancelled${job.error_message ? `: ${job.error_message}` : ''}`);
    case 'EXPIRED':
      throw new DeadlineExceededError(`${job.id} EXPIRED: its deadline passed before it was proven`);
    default:
      throw jobFailure(job);
  }
}

function jobFailure(job: JobMessage): ZkpError {
  const code = (job.error_code in EXIT_CODES ? job.error_code : 'INTERNAL') as ErrorCode;
  const message = `${job.id} ${job.state}${job.error_code ? ` (${job.error_code})` : ''}: ${job.error_message || 'no reason given'}`;
  // A failed job is an outcome to report, not a bug in this command: an unknown code still reads as the job's error.
  return new ZkpError(code === 'INTERNAL' ? 'FAILED_PRECONDITION' : code, message);
}

// ---- job, jobs, cancel ----

async function jobCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(split.rest, { valued: [], booleans: ['json', 'stale', 'help'] });
  if (parsed.flags.has('help')) return help();
  const [id] = positionals(parsed, ['<job id>'], 'zkp job <id> [--json]') as [string];
  return withClient(split, io, async (client) => {
    const job = await client.getJob(id, { stale: parsed.flags.has('stale') });
    io.stdout.write(parsed.flags.has('json') ? `${JSON.stringify(job, null, 2)}\n` : jobDetails(job));
    return 0;
  });
}

function time(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '-';
}

function jobDetails(job: JobMessage): string {
  const rows: [string, string][] = [
    ['id', job.id],
    ['state', job.state],
    ['circuit', job.circuit_id],
    ['priority', String(job.priority)],
    ['attempts', `${job.attempts} of ${job.max_attempts}`],
    ['worker', job.worker_id || '-'],
    ['progress', job.progress === null || job.progress.stage === '' ? '-' : `${job.progress.stage} ${Math.floor(job.progress.fraction * 100)}%`],
    ['deadline', time(job.deadline_ms)],
    ['submitted', time(job.submitted_ms)],
    ['started', time(job.started_ms)],
    ['finished', time(job.finished_ms)],
    ['prove time', job.prove_ms > 0 ? formatDuration_ms(job.prove_ms) : '-'],
    ['idempotency key', job.idempotency_key || '-'],
    ['archived', job.archived ? 'yes' : 'no'],
  ];
  if (job.error_code !== '' || job.error_message !== '') rows.push(['error', `${job.error_code}: ${job.error_message}`]);
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`;
}

function parseStates(text: string | undefined): JobStateName[] {
  if (text === undefined) return [];
  return text.split(',').map((raw) => {
    const state = raw.trim().toUpperCase();
    if (!(JOB_STATES as readonly string[]).includes(state)) throw new InvalidArgumentError(`option --state: "${raw}" is not one of ${JOB_STATES.join(', ')}`);
    return state as JobStateName;
  });
}

async function jobsCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(split.rest, { valued: ['state', 'circuit', 'limit'], booleans: ['json', 'archived', 'stale', 'help'] });
  if (parsed.flags.has('help')) return help();
  positionals(parsed, [], 'zkp jobs [--state S,...] [--circuit C] [--limit N] [--archived] [--json]');
  const states = parseStates(parsed.values.get('state'));
  const limit = integerOption(parsed, 'limit', 1, LIST_LIMIT_MAX) ?? LIST_LIMIT_DEFAULT;
  const circuit = parsed.values.get('circuit');
  return withClient(split, io, async (client) => {
    const jobs: JobMessage[] = [];
    let more = false;
    for await (const job of client.allJobs({
      states,
      ...(circuit === undefined ? {} : { circuit }),
      pageSize: Math.min(limit + 1, 1000),
      includeArchived: parsed.flags.has('archived'),
      stale: parsed.flags.has('stale'),
    })) {
      if (jobs.length === limit) {
        more = true;
        break;
      }
      jobs.push(job);
    }
    if (parsed.flags.has('json')) io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
    else io.stdout.write(jobs.length === 0 ? 'no jobs\n' : jobTable(jobs));
    if (more) io.stderr.write(`zkp: showing the first ${limit} jobs (--limit N for more)\n`);
    return 0;
  });
}

function jobTable(jobs: readonly JobMessage[]): string {
  return table(
    ['ID', 'STATE', 'CIRCUIT', 'PRIORITY', 'ATTEMPTS', 'WORKER', 'SUBMITTED'],
    jobs.map((job) => [
      job.id,
      job.state,
      job.circuit_id.slice(0, 12),
      String(job.priority),
      `${job.attempts}/${job.max_attempts}`,
      job.worker_id || '-',
      time(job.submitted_ms),
    ]),
  );
}

async function cancelCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(split.rest, { valued: [], booleans: ['help'] });
  if (parsed.flags.has('help')) return help();
  const [id] = positionals(parsed, ['<job id>'], 'zkp cancel <id>') as [string];
  return withClient(split, io, async (client) => {
    const job = await client.cancelJob(id);
    io.stdout.write(`${describe(job)}\n`);
    return 0;
  });
}

// ---- status ----

async function statusCommand(split: SplitArgs, io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(split.rest, { valued: [], booleans: ['json', 'help'] });
  if (parsed.flags.has('help')) return help();
  positionals(parsed, [], 'zkp status [--json]');
  return withClient(split, io, async (client) => {
    const status = await client.status();
    io.stdout.write(parsed.flags.has('json') ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
    return 0;
  });
}

export function statusText(status: ClusterStatusMessage): string {
  const leader = status.leader_id === '' ? 'no leader known' : `leader ${status.leader_id} at ${status.leader_address || '?'}`;
  const lines = [
    `${leader}, term ${status.term} (answered by ${status.answered_by}); jobs: ${status.jobs_queued} queued, ${status.jobs_running} running, ${status.jobs_finished_unarchived} finished awaiting archive`,
    '',
    table(
      ['COORDINATOR', 'ROLE', 'TERM', 'COMMIT', 'APPLIED', 'ADDRESS', 'REACHABLE'],
      status.coordinators.map((c) => [
        c.id,
        c.role,
        String(c.term),
        String(c.commit_index),
        String(c.applied_index),
        c.client_address || '-',
        c.reachable ? 'yes' : 'no',
      ]),
    ),
    status.workers.length === 0
      ? 'no workers\n'
      : table(
          ['WORKER', 'ALIVE', 'BACKENDS', 'GPU', 'CURRENT JOBS', 'RESIDENT CIRCUITS'],
          status.workers.map((w) => [
            w.id,
            w.alive ? 'yes' : 'no',
            w.backends.join(',') || '-',
            w.gpu || '-',
            w.current_jobs.join(',') || '-',
            String(w.resident_circuits.length),
          ]),
        ),
  ];
  return lines.join('\n');
}

export { readInputFile };
