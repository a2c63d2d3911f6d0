/** The service's small parts on their own: the upload spooler's refusals, the HTTP body, heartbeat batching, archive rows and events. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RegisterCircuitRequestMessage } from '../../src/api/types.ts';
import { DEFAULT_UPLOAD_LIMITS, spoolUpload } from '../../src/coordinator/service/circuit-upload.ts';
import { HeartbeatBatcher } from '../../src/coordinator/service/heartbeats.ts';
import { submitRequestOf } from '../../src/coordinator/service/http-api.ts';
import { archiveRecordOf, jobEventsOf } from '../../src/coordinator/service/store-port.ts';
import type { JobRecord } from '../../src/coordinator/state/records.ts';
import { ZkpError } from '../../src/errors/index.ts';
import { sha256, tempDir } from './service-harness.ts';

const dir = tempDir('zkp-spool');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const wasm = Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 2, 3, 4, 5]);
const zkey = Buffer.from('zkey bytes, not a real one');

function header(overrides: Record<string, unknown> = {}): RegisterCircuitRequestMessage {
  return {
    header: {
      name: 'c',
      wasm_sha256: sha256(wasm),
      zkey_sha256: sha256(zkey),
      vkey_sha256: '',
      wasm_bytes: wasm.length,
      zkey_bytes: zkey.length,
      vkey_bytes: 0,
      ...overrides,
    },
  };
}

function chunk(kind: 'WASM' | 'ZKEY' | 'VKEY' | 'INPUT', data: Buffer): RegisterCircuitRequestMessage {
  return { chunk: { kind, data } } as RegisterCircuitRequestMessage;
}

async function* of(messages: RegisterCircuitRequestMessage[]): AsyncIterable<RegisterCircuitRequestMessage> {
  yield* messages;
}

async function refusal(messages: RegisterCircuitRequestMessage[], limits = DEFAULT_UPLOAD_LIMITS): Promise<ZkpError> {
  try {
    await spoolUpload(of(messages), dir, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(ZkpError);
    return error as ZkpError;
  }
  throw new Error('the upload was accepted');
}

describe('spoolUpload', () => {
  it('spools a well-formed upload in chunks of any size and kind order, and cleans up', async () => {
    const upload = await spoolUpload(
      of([header(), chunk('ZKEY', zkey.subarray(0, 5)), chunk('WASM', wasm), chunk('ZKEY', zkey.subarray(5))]),
      dir,
      DEFAULT_UPLOAD_LIMITS,
    );
    expect(fs.readFileSync(upload.zkey.path)).toEqual(zkey);
    expect(upload.wasm.sha256).toBe(sha256(wasm));
    expect(upload.vkey).toBeNull();
    await upload.dispose();
    expect(fs.existsSync(path.dirname(upload.zkey.path))).toBe(false);
  });

  it('refuses, naming the problem, and leaves nothing behind', async () => {
    const before = fs.readdirSync(dir).length;
    expect((await refusal([chunk('WASM', wasm)])).message).toContain('must start with its header');
    expect((await refusal([header(), header()])).message).toContain('second header');
    expect((await refusal([])).message).toContain('empty');
    expect((await refusal([header(), chunk('INPUT', wasm)])).message).toContain('not INPUT');
    expect((await refusal([header(), chunk('VKEY', wasm)])).message).toContain('declares no VKEY');
    expect((await refusal([header(), chunk('WASM', Buffer.concat([wasm, wasm]))])).message).toContain(`more WASM bytes than the ${wasm.length}`);
    expect((await refusal([header(), chunk('WASM', wasm), chunk('ZKEY', zkey.subarray(1))])).message).toContain(
      `ended after ${zkey.length - 1} of the ${zkey.length} ZKEY bytes`,
    );
    const mismatch = await refusal([header({ wasm_sha256: '0'.repeat(64) }), chunk('WASM', wasm), chunk('ZKEY', zkey)]);
    expect(mismatch.code).toBe('MISMATCH');
    expect(mismatch.message).toContain(`hashes to sha256 ${sha256(wasm)} but the header says ${'0'.repeat(64)}`);
    expect((await refusal([header({ zkey_sha256: 'XYZ' })])).message).toContain('zkey_sha256 must be 64 lowercase hex digits');
    expect((await refusal([header({ name: '../etc' })])).message).toContain('circuit name');
    const big = await refusal([header({ zkey_bytes: 100 })], { ...DEFAULT_UPLOAD_LIMITS, zkey_bytes_max: 99 });
    expect(big.code).toBe('RESOURCE_EXHAUSTED');
    expect(fs.readdirSync(dir).length).toBe(before);
  });
});

describe('POST /v1/jobs body', () => {
  it('maps the JSON body onto a SubmitJob request and names what is wrong', () => {
    const request = submitRequestOf(Buffer.from(JSON.stringify({ circuit: 'm', input: { a: 1 }, priority: 2, timeout_ms: 500 })));
    expect(request).toMatchObject({ circuit: 'm', input_json: '{"a":1}', input: 'input_json', priority: 2, timeout_ms: 500, max_attempts: 0 });
    expect(submitRequestOf(Buffer.from('{"circuit":"m","input":"{\\"a\\":1}"}')).input_json).toBe('{"a":1}');
    expect(() => submitRequestOf(Buffer.from('nope'))).toThrow(/not JSON/);
    expect(() => submitRequestOf(Buffer.from('{"input":{}}'))).toThrow(/"circuit"/);
    expect(() => submitRequestOf(Buffer.from('{"circuit":"m"}'))).toThrow(/"input"/);
    expect(() => submitRequestOf(Buffer.from('{"circuit":"m","input":{},"priorty":1}'))).toThrow(/unknown field "priorty"/);
    expect(() => submitRequestOf(Buffer.from('{"circuit":"m","input":{},"priority":1.5}'))).toThrow(/"priority" must be an integer/);
  });
});

describe('HeartbeatBatcher', () => {
  it('batches the workers heard into one renewal each, with resident circuits only when they changed', () => {
    const batcher = new HeartbeatBatcher();
    batcher.note('w1', ['b', 'a'], ['a', 'b']);
    batcher.note('w2', ['c'], []);
    batcher.note('w1', ['a', 'b'], ['a', 'b']);
    const renewals = batcher.take();
    expect(renewals).toEqual([{ workerId: 'w1' }, { workerId: 'w2', residentCircuits: ['c'] }]);
    expect(batcher.pending).toBe(0);
    batcher.note('w2', [], ['c']);
    batcher.giveBack(renewals);
    expect(batcher.take()).toEqual([{ workerId: 'w2', residentCircuits: [] }, { workerId: 'w1' }]);
  });
});

describe('archive rows and events', () => {
  const job: JobRecord = {
    id: 'job-7',
    seq: 7,
    circuit_id: 'c'.repeat(64),
    state: 'SUCCEEDED',
    priority: 1,
    deadline_ms: 0,
    idempotency_key: 'k',
    attempts: 2,
    max_attempts: 3,
    worker_id: 'w',
    error_code: '',
    error_message: '',
    proof_json: '{}',
    public_json: '[]',
    backend: 'native',
    input: { kind: 'json', json: '{"a":1}' },
    submitted_ms: 100,
    assigned_ms: 200,
    started_ms: 250,
    finished_ms: 300,
    prove_ms: 40,
  };

  it('keeps every field the API shows, and tells the last attempt as events keyed by (job, attempt, state)', () => {
    expect(archiveRecordOf(job)).toMatchObject({ id: 'job-7', attempts: 2, state: 'SUCCEEDED', input_sha256: '', input_bytes: 7, backend: 'native' });
    expect(jobEventsOf(job).map((e) => [e.attempt, e.state, e.at_ms])).toEqual([
      [0, 'QUEUED', 100],
      [2, 'ASSIGNED', 200],
      [2, 'RUNNING', 250],
      [2, 'SUCCEEDED', 300],
    ]);
    expect(() => archiveRecordOf({ ...job, state: 'RUNNING' })).toThrow(/only finished jobs/);
  });
});
