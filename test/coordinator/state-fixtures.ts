/**
 * A harness for the job state machine: applies commands through the wire
 * form (encode -> apply(entry) -> decode), checks every invariant after each
 * one, and records the changes the listener heard.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { JobChange } from '../../src/coordinator/state/changes.ts';
import {
  type CircuitSpec,
  type CommandResultMap,
  type CommandResultOf,
  decodeResult,
  encodeCommand,
  type JobCommand,
  type JobCommandType,
  type WorkerSpec,
} from '../../src/coordinator/state/commands.ts';
import { JobStateMachine, type JobStateMachineOptions } from '../../src/coordinator/state/job-state-machine.ts';

export type CommandBody<T extends JobCommandType> = Omit<Extract<JobCommand, { type: T }>, 'type' | 'now_ms'>;

export class Harness {
  readonly sm: JobStateMachine;
  index = 0;
  now_ms = 1_000;
  readonly changes: JobChange[] = [];

  constructor(options: JobStateMachineOptions = {}, sm?: JobStateMachine) {
    this.sm = sm ?? new JobStateMachine(options);
    this.sm.onChange((change) => this.changes.push(change));
  }

  /** Applies a command at the harness clock; returns the decoded result (refusals included). */
  run<T extends JobCommandType>(type: T, body: CommandBody<T>): CommandResultOf<T> {
    const command = { type, now_ms: this.now_ms, ...body } as unknown as JobCommand;
    this.index++;
    const bytes = this.sm.apply({ index: this.index, term: 1, type: 'normal', data: encodeCommand(command) });
    this.sm.checkInvariants();
    return decodeResult<T>(bytes);
  }

  /** Like run, but the command must not be refused. */
  ok<T extends JobCommandType>(type: T, body: CommandBody<T>): CommandResultMap[T] {
    const result = this.run(type, body);
    if (!result.ok) throw new Error(`${type} refused: ${result.code} ${result.message}`);
    return result as CommandResultMap[T];
  }

  advance(ms: number): void {
    this.now_ms += ms;
  }

  /** Changes heard since the last call. */
  take(): JobChange[] {
    return this.changes.splice(0);
  }

  circuit(name = 'mul', zkey_bytes = 1000): string {
    return this.ok('register-circuit', { circuit: circuitSpec(name, zkey_bytes) }).circuitId;
  }

  worker(id: string, extra: Partial<WorkerSpec> = {}, lease_ms = 5_000): void {
    this.ok('register-worker', { worker: workerSpec(id, extra), lease_ms });
  }

  submit(circuitId: string, extra: Partial<CommandBody<'submit'>> = {}): string {
    return this.ok('submit', {
      circuitId,
      input: { kind: 'json', json: '{"a":3,"b":11}' },
      idempotencyKey: '',
      priority: 0,
      deadline_ms: 0,
      maxAttempts: 0,
      ...extra,
    }).jobId;
  }

  assign(jobId: string, workerId: string, attempt?: number): CommandResultMap['assign']['outcomes'][number] {
    const job = this.sm.job(jobId);
    const outcome = this.ok('assign', { assignments: [{ jobId, workerId, attempt: attempt ?? (job?.attempts ?? 0) + 1 }] }).outcomes[0]!;
    return outcome;
  }

  complete(jobId: string, workerId: string, attempt: number, proof = '{"pi_a":[]}'): CommandResultMap['complete'] {
    return this.ok('complete', { jobId, workerId, attempt, proofJson: proof, publicJson: '["33"]', prove_ms: 12, backend: 'native' });
  }

  failJob(jobId: string, workerId: string, attempt: number, permanent = false): CommandResultMap['fail'] {
    return this.ok('fail', { jobId, workerId, attempt, permanent, code: permanent ? 'INVALID_ARGUMENT' : 'DEVICE_LOST', message: 'boom' });
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function circuitSpec(name: string, zkey_bytes = 1000): CircuitSpec {
  return {
    id: sha256Hex(`zkey:${name}`),
    name,
    wasm_sha256: sha256Hex(`wasm:${name}`),
    zkey_sha256: sha256Hex(`zkey:${name}`),
    vkey_sha256: '',
    wasm_bytes: 100,
    zkey_bytes,
    vkey_bytes: 0,
    n_constraints: 10,
    n_vars: 12,
    n_public: 1,
    domain_size: 16,
  };
}

export function workerSpec(id: string, extra: Partial<WorkerSpec> = {}): WorkerSpec {
  return {
    id,
    address: 'host',
    backends: ['native'],
    gpu: null,
    memory_bytes: 0,
    threads: 2,
    slots: 1,
    resident_circuits: [],
    ...extra,
  };
}

export function expectRefused(result: { ok: boolean; code?: string; message?: string }, code: string, message?: RegExp): void {
  expect(result.ok).toBe(false);
  expect(result.code).toBe(code);
  if (message !== undefined) expect(result.message).toMatch(message);
}
