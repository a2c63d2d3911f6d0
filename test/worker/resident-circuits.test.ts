/**
 * Resident circuits: loaded once, kept in the backend, bounded by memory with
 * least-recently-used eviction of circuits no job holds; a missing
 * verification key derived from the zkey; a circuit whose id is not its
 * zkey's hash refused.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CircuitMessage } from '../../src/api/types.ts';
import { MismatchError } from '../../src/errors/index.ts';
import type { CircuitBases, ProverBackend, ResidentCircuit } from '../../src/prover/backend.ts';
import '../../src/prover/backends/index.ts';
import { openBackend } from '../../src/prover/select-backend.ts';
import { ArtifactCache } from '../../src/worker/artifact-cache.ts';
import { ResidentCircuits } from '../../src/worker/resident-circuits.ts';
import { testCircuit } from '../helpers/circuits.ts';
import { MemoryArtifacts } from './helpers.ts';

/** The native backend, recording which circuits are loaded into it and released. */
function recording(backend: ProverBackend) {
  const loaded: string[] = [];
  const released: string[] = [];
  const wrapped: ProverBackend = Object.create(backend) as ProverBackend;
  wrapped.loadCircuit = async (bases: CircuitBases): Promise<ResidentCircuit> => {
    loaded.push(bases.id);
    const resident = await backend.loadCircuit(bases);
    return {
      id: resident.id,
      msmG1: (set, scalars, progress) => resident.msmG1(set, scalars, progress),
      msmG2: (set, scalars, progress) => resident.msmG2(set, scalars, progress),
      release: async () => {
        released.push(bases.id);
        await resident.release();
      },
    };
  };
  return { backend: wrapped, loaded, released };
}

describe('ResidentCircuits', () => {
  let native: ProverBackend;
  const artifacts = new MemoryArtifacts();
  let mulchain: CircuitMessage;
  let bits: CircuitMessage;
  let bitsNoVkey: CircuitMessage;
  let bitsVkey: unknown;
  const dirs: string[] = [];

  beforeAll(async () => {
    native = await openBackend('native');
    mulchain = await artifacts.addCircuit(await testCircuit('mulchain'));
    const bitsBuilt = await testCircuit('bits');
    bits = await artifacts.addCircuit(bitsBuilt);
    bitsNoVkey = await artifacts.addCircuit(bitsBuilt, { withVkey: false });
    bitsVkey = JSON.parse(await readFile(bitsBuilt.vkey, 'utf8'));
  });
  afterAll(async () => {
    await native?.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function residents(bytes_max: number) {
    const dir = await mkdtemp(join(tmpdir(), 'zkp-worker-resident-'));
    dirs.push(dir);
    const backend = recording(native);
    const circuits = new ResidentCircuits({ cache: new ArtifactCache({ dir, source: artifacts.source }), backend: backend.backend, bytes_max });
    return { circuits, ...backend };
  }

  const sizeOf = (circuit: CircuitMessage) => circuit.zkey_bytes + circuit.wasm_bytes;

  it('loads a circuit once: the zkey is parsed and its bases loaded into the backend a single time', async () => {
    const { circuits, loaded } = await residents(2 ** 30);
    const requestsBefore = artifacts.requests.length;
    const first = await circuits.acquire(mulchain);
    const second = await circuits.acquire(mulchain);
    expect(second.circuit).toBe(first.circuit);
    expect(first.circuit.zkey.id).toBe(mulchain.id);
    expect(loaded).toEqual([mulchain.id]);
    // wasm, zkey, vkey: fetched once each.
    expect(artifacts.requests.length - requestsBefore).toBe(3);
    first.release();
    second.release();
    expect(circuits.ids()).toEqual([mulchain.id]);
    expect(circuits.bytes).toBe(sizeOf(mulchain));
  });

  it('compiles the wasm for witnesses once, on first use, and keeps it with the circuit', async () => {
    const { circuits } = await residents(2 ** 30);
    const first = await circuits.acquire(mulchain);
    const calculator = await first.circuit.witnessCalculator();
    first.release();
    const second = await circuits.acquire(mulchain);
    expect(await second.circuit.witnessCalculator()).toBe(calculator);
    expect(second.circuit.witnessCalculator()).toBe(second.circuit.witnessCalculator());
    expect(calculator.calculate({ a: 3, b: 5 }, { inputLabel: 'input' }).nWitness).toBe(first.circuit.zkey.nVars);
    second.release();
  });

  it('evicts the least recently used circuit no job holds when over the bound, releasing its bases', async () => {
    const { circuits, released } = await residents(sizeOf(mulchain) + sizeOf(bits) - 1);
    (await circuits.acquire(mulchain)).release();
    (await circuits.acquire(bits)).release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(circuits.ids()).toEqual([bits.id]);
    expect(released).toEqual([mulchain.id]);
    expect(circuits.bytes).toBeLessThanOrEqual(sizeOf(mulchain) + sizeOf(bits) - 1);
  });

  it('keeps a held circuit over the bound until it is released', async () => {
    const { circuits, released } = await residents(1);
    const held = await circuits.acquire(mulchain);
    const other = await circuits.acquire(bits);
    expect(new Set(circuits.ids())).toEqual(new Set([mulchain.id, bits.id]));
    expect(released).toEqual([]);
    held.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(circuits.ids()).toEqual([bits.id]);
    expect(released).toEqual([mulchain.id]);
    other.release();
    // One circuit alone stays even over the bound: a job must be able to run.
    await new Promise((resolve) => setImmediate(resolve));
    expect(circuits.ids()).toEqual([bits.id]);
  });

  it('derives the verification key from the zkey when the circuit has none', async () => {
    const { circuits } = await residents(2 ** 30);
    const lease = await circuits.acquire(bitsNoVkey);
    expect(lease.circuit.vkey).toEqual(bitsVkey);
    lease.release();
  });

  it('refuses a circuit whose id is not the sha256 of its zkey', async () => {
    const { circuits } = await residents(2 ** 30);
    await expect(circuits.acquire({ ...mulchain, zkey_sha256: bits.zkey_sha256 })).rejects.toBeInstanceOf(MismatchError);
    await expect(circuits.acquire({ ...mulchain, zkey_sha256: bits.zkey_sha256 })).rejects.toThrow(/is not the sha256 of its zkey/);
  });
});
