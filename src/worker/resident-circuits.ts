/**
 * Circuits kept ready to prove: the parsed zkey (read once), the wasm, the
 * verification key, and the proving backend's resident bases (device memory
 * for webgpu; the zkey's own buffers for native, which reads them in place).
 *
 * Bounded by memory: the sum of each circuit's zkey and wasm sizes stays under
 * `bytes_max` by evicting the least recently used circuit that no job holds
 * (its bases are released from the backend). One circuit larger than the bound
 * is still loaded, alone: a job must be able to run.
 */
import { CorruptFileError, MismatchError, assert } from '../errors/index.ts';
import type { ProverBackend, ResidentCircuit } from '../prover/backend.ts';
import { parseZkey, type Groth16Zkey } from '../prover/io/zkey.ts';
import { verificationKeyOf } from '../prover/prove-files.ts';
import { type PreparedWitnessCalculator, prepareWitnessCalculator } from '../prover/witness.ts';
import type { CircuitMessage } from '../api/types.ts';
import { type ArtifactCache, checkSha256 } from './artifact-cache.ts';
import { silentWorkerLogger, type WorkerLogger } from './options.ts';

export interface LoadedCircuit {
  /** The circuit id (sha256 of the zkey). */
  readonly id: string;
  readonly name: string;
  readonly zkey: Groth16Zkey;
  readonly wasm: Uint8Array;
  /** verification_key.json (from the coordinator, or derived from the zkey when none was registered). */
  readonly vkey: unknown;
  readonly bytes: number;
  /**
   * The wasm compiled for witness calculation, on first use (a job given a
   * .wtns needs none) and then kept with the circuit, so each job skips the
   * compilation; a wasm that does not compile fails the job that asked, as bad input.
   */
  witnessCalculator(): Promise<PreparedWitnessCalculator>;
}

/** A loaded circuit held by one job; release() when the job is done with it. */
export interface CircuitLease {
  readonly circuit: LoadedCircuit;
  release(): void;
}

interface Entry {
  readonly loaded: LoadedCircuit;
  resident: ResidentCircuit | null;
  holders: number;
  lastUsed: number;
}

export interface ResidentCircuitsOptions {
  readonly cache: ArtifactCache;
  readonly backend: ProverBackend;
  readonly bytes_max: number;
  readonly logger?: WorkerLogger;
}

export class ResidentCircuits {
  readonly #cache: ArtifactCache;
  readonly #backend: ProverBackend;
  readonly #bytes_max: number;
  readonly #logger: WorkerLogger;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  #useCounter = 0;

  constructor(options: ResidentCircuitsOptions) {
    assert(options.bytes_max > 0, 'resident bytes_max is positive');
    this.#cache = options.cache;
    this.#backend = options.backend;
    this.#bytes_max = options.bytes_max;
    this.#logger = options.logger ?? silentWorkerLogger;
  }

  /** Circuit ids resident now (most recently used first), for heartbeats and registration. */
  ids(): string[] {
    return [...this.#entries.values()].sort((a, b) => b.lastUsed - a.lastUsed).map((entry) => entry.loaded.id);
  }

  get bytes(): number {
    let total = 0;
    for (const entry of this.#entries.values()) total += entry.loaded.bytes;
    return total;
  }

  /**
   * The circuit loaded and resident (fetching what is missing); hold it until release().
   * Takes no abort signal: a load is shared by every job that needs the circuit, and
   * finishing it serves the next one; a cancelled job stops when it returns.
   */
  async acquire(circuit: CircuitMessage): Promise<CircuitLease> {
    const entry = await this.#entry(circuit);
    entry.holders++;
    entry.lastUsed = ++this.#useCounter;
    let released = false;
    return {
      circuit: entry.loaded,
      release: () => {
        if (released) return;
        released = true;
        entry.holders--;
        assert(entry.holders >= 0, 'circuit holders never negative');
        void this.#evict();
      },
    };
  }

  /** Releases every resident circuit from the backend (the worker is closing). */
  async clear(): Promise<void> {
    for (const [id, entry] of this.#entries) {
      this.#entries.delete(id);
      await entry.resident?.release().catch(() => undefined);
    }
  }

  async #entry(circuit: CircuitMessage): Promise<Entry> {
    const id = checkSha256(circuit.id, `circuit ${circuit.name || '(unnamed)'}`);
    const existing = this.#entries.get(id);
    if (existing !== undefined) return existing;
    let loading = this.#loading.get(id);
    if (loading === undefined) {
      loading = this.#load(circuit).finally(() => this.#loading.delete(id));
      this.#loading.set(id, loading);
    }
    return loading;
  }

  async #load(circuit: CircuitMessage): Promise<Entry> {
    const label = circuit.name === '' ? `circuit ${circuit.id.slice(0, 12)}` : `circuit ${circuit.name}`;
    const zkeySha = circuit.zkey_sha256 === '' ? circuit.id : circuit.zkey_sha256;
    if (zkeySha !== circuit.id) throw new MismatchError(`${label}: its id ${circuit.id} is not the sha256 of its zkey (${zkeySha})`);
    const [zkeyBytes, wasm, vkeyBytes] = await Promise.all([
      this.#cache.get(zkeySha, { what: `zkey of ${label}`, expected_bytes: circuit.zkey_bytes }),
      this.#cache.get(checkSha256(circuit.wasm_sha256, `wasm of ${label}`), {
        what: `wasm of ${label}`,
        expected_bytes: circuit.wasm_bytes,
      }),
      circuit.vkey_sha256 === ''
        ? Promise.resolve(null)
        : this.#cache.get(checkSha256(circuit.vkey_sha256, `vkey of ${label}`), {
            what: `vkey of ${label}`,
            expected_bytes: circuit.vkey_bytes,
          }),
    ]);
    // The label is the cached path: snarkjs derives a missing verification key from that file.
    const zkey = parseZkey(zkeyBytes, this.#cache.pathOf(zkeySha));
    assert(zkey.id === zkeySha, 'a cached zkey hashes to its name');
    const vkey = vkeyBytes === null ? await verificationKeyOf(zkey) : parseVkey(vkeyBytes, label);
    let witnessCalculator: Promise<PreparedWitnessCalculator> | null = null;
    const loaded: LoadedCircuit = {
      id: circuit.id,
      name: circuit.name,
      zkey,
      wasm,
      vkey,
      bytes: zkeyBytes.byteLength + wasm.byteLength,
      witnessCalculator: () => {
        witnessCalculator ??= prepareWitnessCalculator(wasm);
        return witnessCalculator;
      },
    };
    const entry: Entry = { loaded, resident: null, holders: 0, lastUsed: ++this.#useCounter };
    this.#entries.set(circuit.id, entry);
    await this.#evict();
    // Bases into the backend now (prove() finds them there): device upload time is spent once per circuit.
    try {
      entry.resident = await this.#backend.loadCircuit(zkey.bases);
    } catch (error) {
      this.#entries.delete(circuit.id);
      throw error;
    }
    this.#logger.info({ circuit: circuit.id, name: circuit.name, bytes: loaded.bytes, resident_bytes: this.bytes }, 'circuit resident');
    return entry;
  }

  async #evict(): Promise<void> {
    while (this.bytes > this.#bytes_max) {
      let victim: Entry | null = null;
      for (const entry of this.#entries.values()) {
        if (entry.holders > 0 || entry.resident === null) continue;
        if (victim === null || entry.lastUsed < victim.lastUsed) victim = entry;
      }
      // Only held (or still loading) circuits left: they stay, over the bound, until released.
      if (victim === null || this.#entries.size === 1) return;
      this.#entries.delete(victim.loaded.id);
      this.#logger.info({ circuit: victim.loaded.id, bytes: victim.loaded.bytes }, 'circuit evicted (resident memory bound)');
      await victim.resident?.release().catch((error: unknown) => {
        this.#logger.warn({ circuit: victim?.loaded.id, error: String(error) }, 'releasing resident bases failed');
      });
    }
  }
}

function parseVkey(bytes: Uint8Array, label: string): unknown {
  try {
    const vkey = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    if (vkey === null || typeof vkey !== 'object') throw new Error('not a JSON object');
    return vkey;
  } catch (error) {
    throw new CorruptFileError(`verification key of ${label} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}
