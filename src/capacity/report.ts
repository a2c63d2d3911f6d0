/**
 * Reading a prove-bench report (src/bench-report/schema.ts) for the capacity
 * planner: the schema name and version are checked first, then every field
 * the planner uses; a report that fails names the first field that is wrong,
 * in one line.
 */
import { readFileSync } from 'node:fs';
import { BENCH_REPORT_SCHEMA, BENCH_REPORT_VERSION, type BenchReport } from '../bench-report/schema.ts';
import { InvalidArgumentError, NotFoundError } from '../errors/index.ts';

type Json = unknown;

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and checks `path`; NotFoundError for a missing file, InvalidArgumentError for anything else wrong with it. */
export function loadBenchReport(path: string): BenchReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`${path}: no such file`);
    if (code === 'EISDIR') throw new InvalidArgumentError(`${path}: is a directory, not a bench report`);
    throw new InvalidArgumentError(`${path}: cannot be read (${code ?? (error as Error).message})`);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${path}: not JSON (${(error as Error).message})`);
  }
  return checkBenchReport(parsed, path);
}

/** The report if it is a prove-bench report of the version this build reads, with the fields the planner uses well formed. */
export function checkBenchReport(value: Json, label: string): BenchReport {
  if (!isObject(value)) throw new InvalidArgumentError(`${label}: not a bench report (the JSON is not an object)`);
  if (value.schema !== BENCH_REPORT_SCHEMA) {
    throw new InvalidArgumentError(
      `${label}: schema is ${JSON.stringify(value.schema ?? null)}, not "${BENCH_REPORT_SCHEMA}" (zkp capacity reads the reports of npm run bench)`,
    );
  }
  if (value.version !== BENCH_REPORT_VERSION) {
    throw new InvalidArgumentError(
      `${label}: ${BENCH_REPORT_SCHEMA} version ${JSON.stringify(value.version ?? null)} is not supported (this build reads version ${BENCH_REPORT_VERSION})`,
    );
  }
  const fail = (field: string, what: string): never => {
    throw new InvalidArgumentError(`${label}: ${field} ${what}`);
  };
  const machine = value.machine;
  if (!isObject(machine)) return fail('machine', 'is missing');
  if (typeof value.started_at !== 'string') fail('started_at', 'is not a string');
  for (const field of ['hostname', 'cpu_model']) if (typeof machine[field] !== 'string') fail(`machine.${field}`, 'is not a string');
  if (typeof machine.cores !== 'number') fail('machine.cores', 'is not a number');
  if (machine.gpu !== null && !(isObject(machine.gpu) && typeof machine.gpu.is_software === 'boolean'))
    fail('machine.gpu', 'is neither null nor an adapter with is_software');
  if (!Array.isArray(value.circuits)) return fail('circuits', 'is not an array');
  const names = new Set<string>();
  for (const [at, circuit] of (value.circuits as Json[]).entries()) {
    if (!isObject(circuit) || typeof circuit.name !== 'string' || circuit.name === '') fail(`circuits[${at}].name`, 'is not a non-empty string');
    const name = (circuit as { name: string }).name;
    if (names.has(name)) fail(`circuits[${at}].name`, `"${name}" appears twice`);
    names.add(name);
    for (const field of ['constraints', 'domain_log2']) {
      const number = (circuit as Record<string, Json>)[field];
      if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) fail(`circuits[${at}].${field}`, 'is not a non-negative number');
    }
  }
  if (!Array.isArray(value.runs)) return fail('runs', 'is not an array');
  for (const [at, run] of (value.runs as Json[]).entries()) {
    const where = `runs[${at}]`;
    if (!isObject(run)) return fail(where, 'is not an object');
    if (typeof run.circuit !== 'string' || !names.has(run.circuit))
      fail(`${where}.circuit`, `${JSON.stringify(run.circuit ?? null)} is not one of the report's circuits`);
    if (typeof run.backend !== 'string' || !/^(snarkjs|native|webgpu|peer:.+)$/.test(run.backend))
      fail(`${where}.backend`, `${JSON.stringify(run.backend ?? null)} is not snarkjs, native, webgpu or peer:NAME`);
    if (run.status !== 'ok' && run.status !== 'skipped' && run.status !== 'failed') fail(`${where}.status`, 'is not ok, skipped or failed');
    if (typeof run.reason !== 'string') fail(`${where}.reason`, 'is not a string');
    checkTimings(run.witness, `${where}.witness`, 0, fail);
    checkTimings(run.warm, `${where}.warm`, Number.MIN_VALUE, fail);
  }
  return value as unknown as BenchReport;
}

/** null, or an object whose samples_ms are numbers >= `smallest_ms`. */
function checkTimings(value: Json, field: string, smallest_ms: number, fail: (field: string, what: string) => never): void {
  if (value === null || value === undefined) return;
  if (!isObject(value) || !Array.isArray(value.samples_ms)) fail(`${field}.samples_ms`, 'is not an array');
  const samples = (value as { samples_ms: Json[] }).samples_ms;
  samples.forEach((sample, at) => {
    if (typeof sample !== 'number' || !Number.isFinite(sample) || sample < smallest_ms) {
      fail(`${field}.samples_ms[${at}]`, `is ${JSON.stringify(sample)}, not a number ${smallest_ms > 0 ? 'above 0' : '>= 0'} (milliseconds)`);
    }
  });
}
