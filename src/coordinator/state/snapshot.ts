/**
 * The job state machine's snapshot: magic "ZKJOBS01", then UTF-8 JSON of
 * {clock_ms, circuits, workers, jobs, finished, idempotency}, each record an
 * array of its fields in a fixed order (the lists below), so the bytes
 * depend only on the state, never on how a record object was built. A .wtns
 * input is written in base64.
 *
 * Decoding checks every field's type and throws CorruptFileError naming the
 * first one wrong.
 */
import { CorruptFileError } from '../../errors/index.ts';
import type { JobStateTables } from './job-state-machine.ts';
import { type CircuitRecord, type GpuRecord, JOB_STATES, type JobInput, type JobRecord, type JobStateName, type WorkerRecord } from './records.ts';

const MAGIC = 'ZKJOBS01';
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

type FieldKind = 'string' | 'count' | 'int' | 'bool' | 'strings';

const CIRCUIT_FIELDS: readonly (readonly [keyof CircuitRecord, FieldKind])[] = [
  ['id', 'string'],
  ['name', 'string'],
  ['wasm_sha256', 'string'],
  ['zkey_sha256', 'string'],
  ['vkey_sha256', 'string'],
  ['wasm_bytes', 'count'],
  ['zkey_bytes', 'count'],
  ['vkey_bytes', 'count'],
  ['n_constraints', 'count'],
  ['n_vars', 'count'],
  ['n_public', 'count'],
  ['domain_size', 'count'],
  ['registered_ms', 'count'],
];

/** gpu is written separately (an object or null). */
const WORKER_FIELDS: readonly (readonly [Exclude<keyof WorkerRecord, 'gpu'>, FieldKind])[] = [
  ['id', 'string'],
  ['address', 'string'],
  ['backends', 'strings'],
  ['memory_bytes', 'count'],
  ['threads', 'count'],
  ['slots', 'count'],
  ['resident_circuits', 'strings'],
  ['lease_ms', 'count'],
  ['lease_expires_ms', 'count'],
  ['alive', 'bool'],
  ['current_jobs', 'strings'],
  ['registered_ms', 'count'],
];

const GPU_FIELDS: readonly (readonly [keyof GpuRecord, FieldKind])[] = [
  ['name', 'string'],
  ['vendor', 'string'],
  ['backend', 'string'],
  ['memory_bytes', 'count'],
];

/** state and input are written separately. */
const JOB_FIELDS: readonly (readonly [Exclude<keyof JobRecord, 'state' | 'input'>, FieldKind])[] = [
  ['id', 'string'],
  ['seq', 'count'],
  ['circuit_id', 'string'],
  ['priority', 'int'],
  ['deadline_ms', 'count'],
  ['idempotency_key', 'string'],
  ['attempts', 'count'],
  ['max_attempts', 'count'],
  ['worker_id', 'string'],
  ['error_code', 'string'],
  ['error_message', 'string'],
  ['proof_json', 'string'],
  ['public_json', 'string'],
  ['backend', 'string'],
  ['submitted_ms', 'count'],
  ['assigned_ms', 'count'],
  ['started_ms', 'count'],
  ['finished_ms', 'count'],
  ['prove_ms', 'count'],
];

function row<T>(record: T, fields: readonly (readonly [keyof T, FieldKind])[]): unknown[] {
  return fields.map(([key]) => record[key]);
}

function encodeInput(input: JobInput): unknown[] {
  if (input.kind === 'json') return ['json', input.json];
  if (input.kind === 'wtns') return ['wtns', Buffer.from(input.wtns.buffer, input.wtns.byteOffset, input.wtns.byteLength).toString('base64')];
  return ['stored', input.sha256, input.is_wtns];
}

export function encodeJobSnapshot(tables: JobStateTables): Uint8Array {
  const body = {
    clock_ms: tables.clock_ms,
    circuits: tables.circuits.map((c) => row(c, CIRCUIT_FIELDS)),
    workers: tables.workers.map((w) => [...row(w, WORKER_FIELDS), w.gpu === null ? null : row(w.gpu, GPU_FIELDS)]),
    jobs: tables.jobs.map((j) => [...row(j, JOB_FIELDS), j.state, encodeInput(j.input)]),
    finished: tables.finished,
    idempotency: tables.idempotency,
  };
  return textEncoder.encode(MAGIC + JSON.stringify(body));
}

function corrupt(problem: string): never {
  throw new CorruptFileError(`job snapshot: ${problem}`);
}

function checkField(value: unknown, kind: FieldKind, what: string): void {
  const ok =
    kind === 'string'
      ? typeof value === 'string'
      : kind === 'count'
        ? typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
        : kind === 'int'
          ? typeof value === 'number' && Number.isSafeInteger(value)
          : kind === 'bool'
            ? typeof value === 'boolean'
            : Array.isArray(value) && value.every((v) => typeof v === 'string');
  if (!ok) corrupt(`${what} should be ${kind}, got ${JSON.stringify(value)?.slice(0, 80)}`);
}

function readRow<T>(value: unknown, fields: readonly (readonly [keyof T, FieldKind])[], extra: number, what: string): { record: T; rest: unknown[] } {
  if (!Array.isArray(value) || value.length !== fields.length + extra) corrupt(`${what} should be an array of ${fields.length + extra} fields`);
  const record: Record<string, unknown> = {};
  fields.forEach(([key, kind], i) => {
    const field = value[i];
    checkField(field, kind, `${what}.${String(key)}`);
    record[key as string] = kind === 'strings' ? [...(field as string[])] : field;
  });
  return { record: record as T, rest: value.slice(fields.length) };
}

function decodeInput(value: unknown, what: string): JobInput {
  if (!Array.isArray(value)) corrupt(`${what} should be an array`);
  const [kind, a, b] = value;
  if (kind === 'json' && typeof a === 'string' && value.length === 2) return { kind: 'json', json: a };
  if (kind === 'wtns' && typeof a === 'string' && value.length === 2) return { kind: 'wtns', wtns: new Uint8Array(Buffer.from(a, 'base64')) };
  if (kind === 'stored' && typeof a === 'string' && typeof b === 'boolean' && value.length === 3) return { kind: 'stored', sha256: a, is_wtns: b };
  return corrupt(`${what} is not a json, wtns or stored input`);
}

export function decodeJobSnapshot(data: Uint8Array): JobStateTables {
  let text: string;
  try {
    text = textDecoder.decode(data);
  } catch {
    return corrupt('not UTF-8');
  }
  if (!text.startsWith(MAGIC)) corrupt(`does not start with ${MAGIC}`);
  let body: unknown;
  try {
    body = JSON.parse(text.slice(MAGIC.length));
  } catch (error) {
    return corrupt(`not JSON (${(error as Error).message})`);
  }
  if (typeof body !== 'object' || body === null) corrupt('not an object');
  const b = body as Record<string, unknown>;
  checkField(b.clock_ms, 'count', 'clock_ms');
  for (const key of ['circuits', 'workers', 'jobs', 'finished', 'idempotency']) if (!Array.isArray(b[key])) corrupt(`${key} should be an array`);
  const circuits = (b.circuits as unknown[]).map((v, i) => readRow<CircuitRecord>(v, CIRCUIT_FIELDS, 0, `circuits[${i}]`).record);
  const workers = (b.workers as unknown[]).map((v, i): WorkerRecord => {
    const { record, rest } = readRow<Omit<WorkerRecord, 'gpu'>>(v, WORKER_FIELDS, 1, `workers[${i}]`);
    const gpu = rest[0] === null ? null : readRow<GpuRecord>(rest[0], GPU_FIELDS, 0, `workers[${i}].gpu`).record;
    // Keys in the order the machine creates them, so a restored record is indistinguishable from a live one.
    return {
      id: record.id,
      address: record.address,
      backends: record.backends,
      gpu,
      memory_bytes: record.memory_bytes,
      threads: record.threads,
      slots: record.slots,
      resident_circuits: record.resident_circuits,
      lease_ms: record.lease_ms,
      lease_expires_ms: record.lease_expires_ms,
      alive: record.alive,
      current_jobs: record.current_jobs,
      registered_ms: record.registered_ms,
    };
  });
  const jobs = (b.jobs as unknown[]).map((v, i): JobRecord => {
    const { record, rest } = readRow<Omit<JobRecord, 'state' | 'input'>>(v, JOB_FIELDS, 2, `jobs[${i}]`);
    const state = rest[0];
    if (!JOB_STATES.includes(state as JobStateName)) corrupt(`jobs[${i}].state ${JSON.stringify(state)} is not a job state`);
    return {
      id: record.id,
      seq: record.seq,
      circuit_id: record.circuit_id,
      state: state as JobStateName,
      priority: record.priority,
      deadline_ms: record.deadline_ms,
      idempotency_key: record.idempotency_key,
      attempts: record.attempts,
      max_attempts: record.max_attempts,
      worker_id: record.worker_id,
      error_code: record.error_code,
      error_message: record.error_message,
      proof_json: record.proof_json,
      public_json: record.public_json,
      backend: record.backend,
      input: decodeInput(rest[1], `jobs[${i}].input`),
      submitted_ms: record.submitted_ms,
      assigned_ms: record.assigned_ms,
      started_ms: record.started_ms,
      finished_ms: record.finished_ms,
      prove_ms: record.prove_ms,
    };
  });
  checkField(b.finished, 'strings', 'finished');
  const idempotency = (b.idempotency as unknown[]).map((pair, i): readonly [string, string] => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string')
      corrupt(`idempotency[${i}] should be [key, jobId]`);
    return [pair[0], pair[1]];
  });
  return { clock_ms: b.clock_ms as number, circuits, workers, jobs, finished: b.finished as string[], idempotency };
}
