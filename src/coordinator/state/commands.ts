/**
 * Commands of the job state machine and their results, with their wire form.
 *
 * Every command carries `now_ms`, the proposing leader's clock; the machine
 * keeps clock_ms = max(clock_ms, now_ms) and knows no other time.
 *
 * Wire form of a command: format byte (1), the command as JSON (a codec
 * string), then an attachment (codec bytes): a submit's .wtns input, else
 * empty. The .wtns travels as raw bytes rather than base64 inside the JSON.
 * Wire form of a result: UTF-8 JSON of a CommandResult.
 *
 * Results are small on purpose (ids, never whole records): the exactly-once
 * sessions keep each client's results until it acknowledges them. Read the
 * records through the machine's queries.
 */
import { type ErrorCode, InvalidArgumentError } from '../../errors/index.ts';
import { Reader, Writer } from '../../raft/codec.ts';
import type { CircuitRecord, GpuRecord, JobInput } from './records.ts';

/** What a register-circuit command names; registered_ms comes from the clock. */
export type CircuitSpec = Omit<CircuitRecord, 'registered_ms'>;

/** What a worker reports about itself when it registers. */
export interface WorkerSpec {
  readonly id: string;
  readonly address: string;
  readonly backends: readonly string[];
  readonly gpu: GpuRecord | null;
  readonly memory_bytes: number;
  readonly threads: number;
  readonly slots: number;
  readonly resident_circuits: readonly string[];
}

export interface LeaseRenewal {
  readonly workerId: string;
  /** The circuits the worker now keeps resident; omitted (or null) = unchanged. */
  readonly residentCircuits?: readonly string[] | null;
}

export interface AssignmentSpec {
  readonly jobId: string;
  readonly workerId: string;
  /** Must be the job's attempts + 1. */
  readonly attempt: number;
}

export type JobCommand =
  /** A new circuit; the same id again answers existing:true; a name another circuit has is refused. */
  | { readonly type: 'register-circuit'; readonly now_ms: number; readonly circuit: CircuitSpec }
  /**
   * A worker joins (or re-joins after a restart). A worker already known keeps
   * the jobs named in keepJobIds that it still holds; its other jobs go back to
   * the queue (the restarted process lost them), their attempt counted.
   */
  | {
      readonly type: 'register-worker';
      readonly now_ms: number;
      readonly worker: WorkerSpec;
      readonly lease_ms: number;
      readonly keepJobIds?: readonly string[];
    }
  /** The worker leaves: its jobs go back to the queue (attempt counted) or fail at max attempts. */
  | { readonly type: 'deregister-worker'; readonly now_ms: number; readonly workerId: string }
  | {
      readonly type: 'submit';
      readonly now_ms: number;
      /** A circuit id (not a name: the service resolves names before it proposes). */
      readonly circuitId: string;
      readonly input: JobInput;
      /** '' = none; the same key again returns the first job (existing:true). */
      readonly idempotencyKey: string;
      readonly priority: number;
      /** Absolute clock_ms; 0 = none. */
      readonly deadline_ms: number;
      /** 0 = the machine's default. */
      readonly maxAttempts: number;
    }
  /** Assignments planned by the scheduler, applied one by one; each is refused unless still valid. */
  | { readonly type: 'assign'; readonly now_ms: number; readonly assignments: readonly AssignmentSpec[] }
  /**
   * The scheduler's policy (scheduler/plan.ts) run on the replicated state at
   * apply time, up to `limit` assignments. The leader puts it at the end of a
   * batch entry that holds submits, so the jobs queued by that entry are
   * assigned by the same commit instead of a second one. Deterministic: the
   * plan depends only on the state and the command's now_ms.
   */
  | { readonly type: 'schedule'; readonly now_ms: number; readonly limit: number }
  /** The worker started proving (ASSIGNED -> RUNNING). */
  | { readonly type: 'running'; readonly now_ms: number; readonly jobId: string; readonly attempt: number; readonly workerId: string }
  /** A verified result (the service verifies before it proposes). */
  | {
      readonly type: 'complete';
      readonly now_ms: number;
      readonly jobId: string;
      readonly attempt: number;
      readonly workerId: string;
      readonly proofJson: string;
      readonly publicJson: string;
      readonly prove_ms: number;
      readonly backend: string;
    }
  | {
      readonly type: 'fail';
      readonly now_ms: number;
      readonly jobId: string;
      readonly attempt: number;
      readonly workerId: string;
      /** Bad input, a witness that fails: FAILED at once, never retried. */
      readonly permanent: boolean;
      /** A ZkpError code, e.g. INVALID_ARGUMENT, DEVICE_LOST. */
      readonly code: string;
      readonly message: string;
    }
  | { readonly type: 'cancel'; readonly now_ms: number; readonly jobId: string; readonly reason?: string }
  /** Heartbeats seen by the leader, in one entry for many workers. */
  | { readonly type: 'renew-leases'; readonly now_ms: number; readonly renewals: readonly LeaseRenewal[] }
  /** Lease expiry (dead workers, their jobs requeued or failed) and deadlines (jobs EXPIRED). */
  | { readonly type: 'tick'; readonly now_ms: number }
  /** A new leader: every live worker's lease restarts from now. */
  | { readonly type: 'leader-start'; readonly now_ms: number }
  /** The archive holds these finished jobs: they leave the state. Ids not finished (or unknown) are skipped. */
  | { readonly type: 'archived'; readonly now_ms: number; readonly jobIds: readonly string[] };

export type JobCommandType = JobCommand['type'];

// ---------------------------------------------------------------- results

/** The command was refused as a whole; nothing changed. */
export interface CommandRefusal {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
  /** With RESOURCE_EXHAUSTED: how long to wait before retrying. */
  readonly retryAfter_ms?: number;
}

export interface RegisterCircuitResult {
  readonly ok: true;
  readonly circuitId: string;
  /** The same zkey was registered before (its record, name included, is unchanged). */
  readonly existing: boolean;
}
export interface RegisterWorkerResult {
  readonly ok: true;
  readonly workerId: string;
  readonly lease_ms: number;
  /** Jobs of an earlier incarnation of this worker sent back to the queue. */
  readonly requeuedJobIds: readonly string[];
  /** ... or failed, having used their last attempt. */
  readonly failedJobIds: readonly string[];
}
export interface DeregisterWorkerResult {
  readonly ok: true;
  readonly requeuedJobIds: readonly string[];
  readonly failedJobIds: readonly string[];
}
export interface SubmitResult {
  readonly ok: true;
  readonly jobId: string;
  /** The idempotency key named an earlier job; nothing new was queued. */
  readonly existing: boolean;
}
export interface AssignOutcome {
  readonly jobId: string;
  readonly workerId: string;
  readonly attempt: number;
  readonly ok: boolean;
  /** When refused: why (stale plan, worker gone, no free slot...). */
  readonly reason?: string;
}
export interface AssignResult {
  readonly ok: true;
  readonly outcomes: readonly AssignOutcome[];
}
/**
 * The answer to a worker's report (running, complete, fail): accepted or
 * ignored with a reason (a late or duplicate report, another attempt, a job
 * no longer held). Never a refusal: a worker's stale report is normal.
 */
export interface WorkerReportResult {
  readonly ok: true;
  readonly accepted: boolean;
  readonly reason: string;
}
export interface CancelResult {
  readonly ok: true;
  readonly jobId: string;
  /** The worker that held the job when it was cancelled ('' if it was queued): the service tells it to stop. */
  readonly revokedFromWorkerId: string;
}
export interface RenewLeasesResult {
  readonly ok: true;
  /** Workers this state does not know: they must register again. */
  readonly unknownWorkerIds: readonly string[];
  /** Workers that had been declared dead and are alive again (with no jobs). */
  readonly revivedWorkerIds: readonly string[];
}
export interface TickResult {
  readonly ok: true;
  readonly deadWorkerIds: readonly string[];
  readonly requeuedJobIds: readonly string[];
  readonly failedJobIds: readonly string[];
  readonly expiredJobIds: readonly string[];
}
export interface LeaderStartResult {
  readonly ok: true;
  readonly renewedWorkerIds: readonly string[];
}
export interface ArchivedResult {
  readonly ok: true;
  /** How many of the named jobs left the state. */
  readonly removed: number;
}

/** The result of each command type, when not refused. */
export interface CommandResultMap {
  'register-circuit': RegisterCircuitResult;
  'register-worker': RegisterWorkerResult;
  'deregister-worker': DeregisterWorkerResult;
  submit: SubmitResult;
  assign: AssignResult;
  schedule: AssignResult;
  running: WorkerReportResult;
  complete: WorkerReportResult;
  fail: WorkerReportResult;
  cancel: CancelResult;
  'renew-leases': RenewLeasesResult;
  tick: TickResult;
  'leader-start': LeaderStartResult;
  archived: ArchivedResult;
}

export type CommandResultOf<T extends JobCommandType> = CommandResultMap[T] | CommandRefusal;
export type CommandResult = CommandResultMap[JobCommandType] | CommandRefusal;

// ---------------------------------------------------------------- wire form

const FORMAT = 1;
/**
 * A batch: several encoded commands in one log entry, applied in order as if
 * each had its own entry (the proposer coalesces what arrives together, so a
 * burst of submits costs one entry, one replication and one fsync). Its
 * result is a JSON array of the commands' results, in order.
 */
const BATCH_FORMAT = 2;
/** Commands in one batch entry at most (a job's seq keeps room for 1,024 per entry). */
export const BATCH_COMMANDS_LIMIT = 1000;
/** Commands per batch entry the proposer (and the simulator's leader) puts together at most. */
export const BATCH_COMMANDS_MAX = 256;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY: Uint8Array = new Uint8Array(0);

export function encodeCommand(command: JobCommand): Uint8Array {
  validateCommand(command);
  let attachment = EMPTY;
  let body: unknown = command;
  if (command.type === 'submit' && command.input.kind === 'wtns') {
    attachment = command.input.wtns;
    body = { ...command, input: { kind: 'wtns' } };
  }
  const json = JSON.stringify(body);
  const w = new Writer(16 + json.length * 3 + attachment.length);
  w.byte(FORMAT);
  w.string(json);
  w.bytes(attachment);
  return w.finish();
}

/** Decodes and validates a command; a malformed one throws InvalidArgumentError naming the problem. */
export function decodeCommand(data: Uint8Array): JobCommand {
  let json: string;
  let attachment: Uint8Array;
  try {
    const r = new Reader(data, 'job command');
    const format = r.byte();
    if (format !== FORMAT) throw new InvalidArgumentError(`job command: unknown format ${format}`);
    json = r.string();
    attachment = r.bytes();
    r.expectEnd();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`job command: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new InvalidArgumentError(`job command: not JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw new InvalidArgumentError('job command: not a JSON object');
  if (parsed.type === 'submit' && isObject(parsed.input) && parsed.input.kind === 'wtns') {
    parsed = { ...parsed, input: { kind: 'wtns', wtns: attachment.slice() } };
  } else if (attachment.length !== 0) {
    throw new InvalidArgumentError(`job command: ${String(parsed.type)} carries an unexpected ${attachment.length}-byte attachment`);
  }
  validateCommand(parsed);
  return parsed;
}

/** Several encoded commands (encodeCommand's output) as one entry; at least two. */
export function encodeCommandBatch(commands: readonly Uint8Array[]): Uint8Array {
  if (commands.length < 2 || commands.length > BATCH_COMMANDS_LIMIT)
    throw new InvalidArgumentError(`a command batch holds 2 to ${BATCH_COMMANDS_LIMIT} commands, not ${commands.length}`);
  let size = 16;
  for (const command of commands) size += command.length + 5;
  const w = new Writer(size);
  w.byte(BATCH_FORMAT);
  w.varuint(commands.length);
  for (const command of commands) w.bytes(command);
  return w.finish();
}

/** The encoded commands of a batch entry, or null when the entry is a single command. */
export function decodeCommandBatch(data: Uint8Array): Uint8Array[] | null {
  if (data.length === 0 || data[0] !== BATCH_FORMAT) return null;
  try {
    const r = new Reader(data, 'job command batch');
    r.byte();
    const count = r.varuint();
    if (count < 2 || count > BATCH_COMMANDS_LIMIT) throw new InvalidArgumentError(`job command batch: ${count} commands`);
    const commands: Uint8Array[] = [];
    for (let i = 0; i < count; i++) commands.push(r.bytes());
    r.expectEnd();
    return commands;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`job command batch: ${(error as Error).message}`);
  }
}

/** A batch's results, in the order of its commands. */
export function encodeBatchResults(results: readonly CommandResult[]): Uint8Array {
  return textEncoder.encode(JSON.stringify(results));
}

/** Splits a batch entry's answer; `count` is how many commands the batch held. */
export function decodeBatchResults(data: Uint8Array, count: number): CommandResult[] {
  const parsed: unknown = JSON.parse(textDecoder.decode(data));
  if (Array.isArray(parsed) && parsed.length === count && parsed.every((r) => isObject(r) && typeof r.ok === 'boolean')) return parsed as CommandResult[];
  // A refusal of the batch as a whole (malformed): every command gets it.
  if (isObject(parsed) && parsed.ok === false) return Array.from({ length: count }, () => parsed as unknown as CommandRefusal);
  throw new InvalidArgumentError(`job command batch result: not ${count} results`);
}

export function encodeResult(result: CommandResult): Uint8Array {
  return textEncoder.encode(JSON.stringify(result));
}

export function decodeResult<T extends JobCommandType = JobCommandType>(data: Uint8Array): CommandResultOf<T> {
  const parsed: unknown = JSON.parse(textDecoder.decode(data));
  if (!isObject(parsed) || typeof parsed.ok !== 'boolean') throw new InvalidArgumentError('job command result: not an object with a boolean "ok"');
  return parsed as unknown as CommandResultOf<T>;
}

// ---------------------------------------------------------------- validation

/** Bounds on what a command may carry (each command stays one modest log entry). */
export const COMMAND_LIMITS = {
  id_chars_max: 256,
  name_chars_max: 256,
  text_chars_max: 4096,
  list_max: 100_000,
  proof_chars_max: 1 << 20,
} as const;

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(what: string, problem: string): never {
  throw new InvalidArgumentError(`job command ${what}: ${problem}`);
}

function checkString(o: Obj, key: string, what: string, chars_max: number, nonEmpty = false): void {
  const v = o[key];
  if (typeof v !== 'string') fail(what, `${key} must be a string, got ${typeof v}`);
  if (nonEmpty && v.length === 0) fail(what, `${key} must not be empty`);
  if (v.length > chars_max) fail(what, `${key} is ${v.length} characters, at most ${chars_max}`);
}

function checkCount(o: Obj, key: string, what: string, min = 0): void {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) fail(what, `${key} must be an integer >= ${min}, got ${String(v)}`);
}

function checkInt(o: Obj, key: string, what: string): void {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(what, `${key} must be an integer, got ${String(v)}`);
}

function checkStringList(o: Obj, key: string, what: string): void {
  const v = o[key];
  if (!Array.isArray(v)) fail(what, `${key} must be a list of strings`);
  if (v.length > COMMAND_LIMITS.list_max) fail(what, `${key} has ${v.length} items, at most ${COMMAND_LIMITS.list_max}`);
  for (const item of v) {
    if (typeof item !== 'string' || item.length === 0 || item.length > COMMAND_LIMITS.id_chars_max)
      fail(what, `${key} must hold non-empty strings of at most ${COMMAND_LIMITS.id_chars_max} characters`);
  }
}

function checkList(o: Obj, key: string, what: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(what, `${key} must be a list`);
  if (v.length > COMMAND_LIMITS.list_max) fail(what, `${key} has ${v.length} items, at most ${COMMAND_LIMITS.list_max}`);
  return v;
}

const HEX64 = /^[0-9a-f]{64}$/;

function checkCircuit(c: unknown): void {
  const what = 'register-circuit';
  if (!isObject(c)) fail(what, 'circuit must be an object');
  checkString(c, 'id', what, 64, true);
  if (!HEX64.test(c.id as string)) fail(what, 'circuit id must be the zkey sha256 in lowercase hex');
  checkString(c, 'name', what, COMMAND_LIMITS.name_chars_max, true);
  checkString(c, 'wasm_sha256', what, 64);
  checkString(c, 'zkey_sha256', what, 64);
  checkString(c, 'vkey_sha256', what, 64);
  for (const key of ['wasm_bytes', 'zkey_bytes', 'vkey_bytes', 'n_constraints', 'n_vars', 'n_public', 'domain_size']) checkCount(c, key, what);
}

function checkWorker(w: unknown): void {
  const what = 'register-worker';
  if (!isObject(w)) fail(what, 'worker must be an object');
  checkString(w, 'id', what, COMMAND_LIMITS.id_chars_max, true);
  checkString(w, 'address', what, COMMAND_LIMITS.name_chars_max);
  checkStringList(w, 'backends', what);
  if (w.gpu !== null) {
    if (!isObject(w.gpu)) fail(what, 'gpu must be an object or null');
    checkString(w.gpu, 'name', what, COMMAND_LIMITS.name_chars_max);
    checkString(w.gpu, 'vendor', what, COMMAND_LIMITS.name_chars_max);
    checkString(w.gpu, 'backend', what, COMMAND_LIMITS.name_chars_max);
    checkCount(w.gpu, 'memory_bytes', what);
  }
  checkCount(w, 'memory_bytes', what);
  checkCount(w, 'threads', what);
  checkCount(w, 'slots', what, 1);
  checkStringList(w, 'resident_circuits', what);
}

function checkInput(input: unknown): void {
  const what = 'submit';
  if (!isObject(input)) fail(what, 'input must be an object');
  if (input.kind === 'json') checkString(input, 'json', what, Number.MAX_SAFE_INTEGER, true);
  else if (input.kind === 'wtns') {
    if (!(input.wtns instanceof Uint8Array) || input.wtns.length === 0) fail(what, 'a wtns input must carry the witness bytes');
  } else if (input.kind === 'stored') {
    checkString(input, 'sha256', what, 64, true);
    if (!HEX64.test(input.sha256 as string)) fail(what, 'a stored input is named by its sha256 in lowercase hex');
    if (typeof input.is_wtns !== 'boolean') fail(what, 'a stored input says whether it is a .wtns (is_wtns)');
  } else fail(what, `input kind must be json, wtns or stored, got ${String(input.kind)}`);
}

/** Throws InvalidArgumentError naming the first problem; narrows to JobCommand. */
export function validateCommand(c: unknown): asserts c is JobCommand {
  if (!isObject(c)) fail('', 'not an object');
  const what = String(c.type);
  checkCount(c, 'now_ms', what);
  switch (c.type) {
    case 'register-circuit':
      checkCircuit(c.circuit);
      return;
    case 'register-worker':
      checkWorker(c.worker);
      checkCount(c, 'lease_ms', what, 1);
      if (c.keepJobIds !== undefined) checkStringList(c, 'keepJobIds', what);
      return;
    case 'deregister-worker':
      checkString(c, 'workerId', what, COMMAND_LIMITS.id_chars_max, true);
      return;
    case 'submit':
      checkString(c, 'circuitId', what, COMMAND_LIMITS.id_chars_max, true);
      checkInput(c.input);
      checkString(c, 'idempotencyKey', what, COMMAND_LIMITS.id_chars_max);
      checkInt(c, 'priority', what);
      checkCount(c, 'deadline_ms', what);
      checkCount(c, 'maxAttempts', what);
      return;
    case 'assign':
      for (const a of checkList(c, 'assignments', what)) {
        if (!isObject(a)) fail(what, 'each assignment must be an object');
        checkString(a, 'jobId', what, COMMAND_LIMITS.id_chars_max, true);
        checkString(a, 'workerId', what, COMMAND_LIMITS.id_chars_max, true);
        checkCount(a, 'attempt', what, 1);
      }
      return;
    case 'schedule':
      checkCount(c, 'limit', what);
      if ((c.limit as number) > COMMAND_LIMITS.list_max) fail(what, `limit is ${c.limit as number}, at most ${COMMAND_LIMITS.list_max}`);
      return;
    case 'running':
    case 'complete':
    case 'fail':
      checkString(c, 'jobId', what, COMMAND_LIMITS.id_chars_max, true);
      checkString(c, 'workerId', what, COMMAND_LIMITS.id_chars_max, true);
      checkCount(c, 'attempt', what, 1);
      if (c.type === 'complete') {
        checkString(c, 'proofJson', what, COMMAND_LIMITS.proof_chars_max, true);
        checkString(c, 'publicJson', what, COMMAND_LIMITS.proof_chars_max);
        checkCount(c, 'prove_ms', what);
        checkString(c, 'backend', what, COMMAND_LIMITS.name_chars_max);
      }
      if (c.type === 'fail') {
        if (typeof c.permanent !== 'boolean') fail(what, 'permanent must be a boolean');
        checkString(c, 'code', what, COMMAND_LIMITS.name_chars_max, true);
        checkString(c, 'message', what, COMMAND_LIMITS.text_chars_max);
      }
      return;
    case 'cancel':
      checkString(c, 'jobId', what, COMMAND_LIMITS.id_chars_max, true);
      if (c.reason !== undefined) checkString(c, 'reason', what, COMMAND_LIMITS.text_chars_max);
      return;
    case 'renew-leases':
      for (const r of checkList(c, 'renewals', what)) {
        if (!isObject(r)) fail(what, 'each renewal must be an object');
        checkString(r, 'workerId', what, COMMAND_LIMITS.id_chars_max, true);
        if (r.residentCircuits !== undefined && r.residentCircuits !== null) checkStringList(r, 'residentCircuits', what);
      }
      return;
    case 'tick':
    case 'leader-start':
      return;
    case 'archived':
      checkStringList(c, 'jobIds', what);
      return;
    default:
      fail(what, 'unknown command type');
  }
}
