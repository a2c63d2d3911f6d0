/** Fixtures shared by the worker tests: a test circuit served by a FakeCoordinator, assignments, temp dirs. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { AssignmentMessage, CircuitMessage } from '../../src/api/types.ts';
import type { BuiltCircuit } from '../../scripts/build-circuits.ts';
import { BN254_R } from '../../src/prover/io/bn254.ts';
import { parseZkey } from '../../src/prover/io/zkey.ts';
import { calculateWitness } from '../../src/prover/witness.ts';
import { type ArtifactSource, sha256Hex } from '../../src/worker/artifact-cache.ts';
import { NotFoundError } from '../../src/errors/index.ts';
import { silentWorkerLogger, type WorkerLogger } from '../../src/worker/options.ts';
import { testCircuit } from '../helpers/circuits.ts';
import type { FakeCoordinator } from './fake-coordinator.ts';

export interface ServedCircuit {
  readonly built: BuiltCircuit;
  readonly circuit: CircuitMessage;
  readonly vkey: unknown;
}

/** Builds (or finds) a test circuit and puts its wasm, zkey and vkey on the fake coordinator. */
export async function serveCircuit(fake: FakeCoordinator, name: string, options: { withVkey?: boolean } = {}): Promise<ServedCircuit> {
  const built = await testCircuit(name);
  const [wasm, zkey, vkeyBytes] = await Promise.all([readFile(built.wasm), readFile(built.zkey), readFile(built.vkey)]);
  const parsed = parseZkey(zkey, built.zkey);
  const zkeySha = fake.addArtifact('ZKEY', zkey);
  const withVkey = options.withVkey ?? true;
  const circuit: CircuitMessage = {
    id: zkeySha,
    name,
    wasm_sha256: fake.addArtifact('WASM', wasm),
    zkey_sha256: zkeySha,
    vkey_sha256: withVkey ? fake.addArtifact('VKEY', vkeyBytes) : '',
    wasm_bytes: wasm.byteLength,
    zkey_bytes: zkey.byteLength,
    vkey_bytes: withVkey ? vkeyBytes.byteLength : 0,
    n_constraints: built.nConstraints,
    n_vars: parsed.nVars,
    n_public: parsed.nPublic,
    domain_size: parsed.domainSize,
    registered_ms: 0,
  };
  return { built, circuit, vkey: JSON.parse(vkeyBytes.toString('utf8')) as unknown };
}

export type TestInput = { json: string } | { wtns: Uint8Array } | { sha256: string; isWtns: boolean };

export function assignmentFor(circuit: CircuitMessage, job_id: string, input: TestInput, attempt = 1): AssignmentMessage {
  const base = { job_id, attempt, circuit, input_is_wtns: false, deadline_ms: 0, lease_ms: 5_000 };
  if ('json' in input) return { ...base, input_json: input.json, input: 'input_json' };
  if ('wtns' in input) return { ...base, witness_wtns: Buffer.from(input.wtns), input: 'witness_wtns' };
  return { ...base, input_sha256: input.sha256, input: 'input_sha256', input_is_wtns: input.isWtns };
}

export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `zkp-worker-${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Silent unless ZKP_TEST_LOG=debug|info|... (then pino JSON on stderr). */
export function testLogger(): WorkerLogger {
  const level = process.env.ZKP_TEST_LOG;
  return level ? pino({ level }, pino.destination(2)) : silentWorkerLogger;
}

/** Router settings for loopback tests: fail over and retry quickly. */
export const FAST_ROUTER = { deadline_ms: 3_000, attempt_timeout_ms: 1_000, backoff_ms_min: 10, backoff_ms_max: 100 } as const;

/** A .wtns file (version 2) holding `values` (nWitness x 32 bytes, standard form). */
export function encodeWtns(values: Uint8Array): Buffer {
  const nWitness = values.byteLength / 32;
  const header = Buffer.alloc(12);
  header.write('wtns', 0, 'ascii');
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(2, 8);
  const section1 = Buffer.alloc(12 + 40);
  section1.writeUInt32LE(1, 0);
  section1.writeBigUInt64LE(40n, 4);
  section1.writeUInt32LE(32, 12);
  let r = BN254_R;
  for (let index = 0; index < 32; index++) {
    section1[16 + index] = Number(r & 0xffn);
    r >>= 8n;
  }
  section1.writeUInt32LE(nWitness, 48);
  const section2 = Buffer.alloc(12);
  section2.writeUInt32LE(2, 0);
  section2.writeBigUInt64LE(BigInt(values.byteLength), 4);
  return Buffer.concat([header, section1, section2, Buffer.from(values)]);
}

/** The .wtns of a circuit for an input, computed here with the circuit's wasm. */
export async function wtnsFor(built: BuiltCircuit, input: Record<string, unknown>): Promise<Buffer> {
  const witness = await calculateWitness(input, { wasm: await readFile(built.wasm), inputLabel: 'test input' });
  return encodeWtns(witness.values);
}

/** Test circuit artifacts served from memory (an ArtifactSource), counting requests per hash. */
export class MemoryArtifacts {
  readonly files = new Map<string, Buffer>();
  readonly requests: string[] = [];

  add(bytes: Buffer): string {
    const sha256 = sha256Hex(bytes);
    this.files.set(sha256, bytes);
    return sha256;
  }

  readonly source: ArtifactSource = (sha256) => this.#stream(sha256);

  async *#stream(sha256: string): AsyncGenerator<Uint8Array> {
    this.requests.push(sha256);
    const bytes = this.files.get(sha256);
    if (bytes === undefined) throw new NotFoundError(`no artifact ${sha256}`);
    yield bytes;
  }

  /** A circuit message for a built test circuit whose artifacts this serves. */
  async addCircuit(built: BuiltCircuit, options: { withVkey?: boolean } = {}): Promise<CircuitMessage> {
    const [wasm, zkey, vkey] = await Promise.all([readFile(built.wasm), readFile(built.zkey), readFile(built.vkey)]);
    const zkeySha = this.add(zkey);
    const withVkey = options.withVkey ?? true;
    return {
      id: zkeySha,
      name: built.name,
      wasm_sha256: this.add(wasm),
      zkey_sha256: zkeySha,
      vkey_sha256: withVkey ? this.add(vkey) : '',
      wasm_bytes: wasm.byteLength,
      zkey_bytes: zkey.byteLength,
      vkey_bytes: withVkey ? vkey.byteLength : 0,
      n_constraints: built.nConstraints,
      n_vars: 0,
      n_public: built.nPublic,
      domain_size: 0,
      registered_ms: 0,
    };
  }
}
