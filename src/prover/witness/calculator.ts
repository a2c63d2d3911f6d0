/**
 * A witness calculator over a circom 2 `.wasm`, compiled once and run many
 * times: prepareWitnessCalculator() compiles the module (V8 keeps its
 * optimised code with it, so later witnesses run faster than the first);
 * each calculate() takes a fresh instance (instantiation is well under a
 * millisecond; an instance a trap has left half-way is never reused), writes
 * the inputs' 32-bit limbs straight into the shared memory, and copies each
 * witness value's limbs from the wasm memory into the `.wtns` bytes, with no
 * BigInt per witness value. The bytes are those `snarkjs wtns calculate`
 * writes for the same input.
 *
 * Inputs are checked first (names, value counts, range, missing signals; see
 * input-signals.ts), so a mistake is reported by signal name.
 */
import { InvalidArgumentError, MismatchError } from '../../errors/index.ts';
import { BN254_N8, BN254_R } from '../io/bn254.ts';
import type { Witness } from '../io/wtns.ts';
import { type CircomExports, CircomRuntime, CircomRuntimeError, type CircuitLogSink, checkCircomModule, readSharedValue } from './circom-wasm.ts';
import { type CircuitInput, mainSignalNames, normalizeInput, type SignalHash, signalHash } from './input-signals.ts';
import { allocateWtns, WTNS_VALUES_OFFSET } from './wtns-layout.ts';

/** BN254 values are 8 limbs of 32 bits. */
const LIMBS = BN254_N8 / 4;

export interface WitnessRunOptions {
  /** What to call the input in messages (its path, or "job X input"). */
  readonly inputLabel: string;
  /** Text of the circuit's `.sym` file, if known: used to name missing signals. */
  readonly symText?: string;
  /** Receives each line the circuit's log() calls write; without it they are dropped. */
  readonly onLog?: CircuitLogSink;
}

interface InputSignal {
  readonly hash: SignalHash;
  /** Values the input takes; null when the wasm cannot say (no getInputSignalSize). */
  readonly size: number | null;
}

export class PreparedWitnessCalculator {
  /** Values in each witness (the circuit's wires, 1 first). */
  readonly nWitness: number;
  /** Input values the circuit needs in all. */
  readonly nInputs: number;
  /** The circom version that compiled the wasm, "2.2.3". */
  readonly circomVersion: string;
  readonly #module: WebAssembly.Module;
  /** Inputs looked up before; only real inputs are kept, so unknown names sent in bad inputs do not pile up. */
  readonly #inputs = new Map<string, InputSignal>();

  private constructor(module: WebAssembly.Module, nWitness: number, nInputs: number, circomVersion: string) {
    this.#module = module;
    this.nWitness = nWitness;
    this.nInputs = nInputs;
    this.circomVersion = circomVersion;
  }

  /** Compiles and checks the wasm: a circom 2 witness generator over BN254's scalar field. */
  static async prepare(wasm: Uint8Array): Promise<PreparedWitnessCalculator> {
    let module: WebAssembly.Module;
    try {
      module = await WebAssembly.compile(wasm);
    } catch (error) {
      throw new InvalidArgumentError(`circuit .wasm could not be loaded (${firstLine(error)})`);
    }
    checkCircomModule(module);
    const exports = instantiate(module, new CircomRuntime(undefined));
    const major = exports.getVersion();
    const version = `${major}.${exports.getMinorVersion?.() ?? 0}.${exports.getPatchVersion?.() ?? 0}`;
    if (major !== 2) throw new InvalidArgumentError(`circuit .wasm was made by circom ${version}; only circom 2 witness generators are supported`);
    const limbs = exports.getFieldNumLen32();
    exports.getRawPrime();
    const prime = limbs === LIMBS ? readSharedValue(exports) : null;
    if (prime !== BN254_R) {
      throw new MismatchError(
        `circuit .wasm computes over a field of modulus ${prime ?? `${limbs * 32} bits wide`}, not BN254's scalar field (compile with circom --prime bn128)`,
      );
    }
    // Limbs are read and written as a Uint32Array over the wasm memory; circom places the shared memory on a 4-byte boundary.
    if (exports.getSharedRWMemoryStart() % 4 !== 0) throw new InvalidArgumentError('circuit .wasm has its shared memory at an unaligned address');
    return new PreparedWitnessCalculator(module, exports.getWitnessSize(), exports.getInputSize(), version);
  }

  /** The witness for `input` (checked first); its values are the tail of the `.wtns` bytes. */
  calculate(input: CircuitInput, options: WitnessRunOptions): Witness {
    const values = this.calculateWtns(input, options).subarray(WTNS_VALUES_OFFSET);
    return { label: `witness of ${options.inputLabel}`, nWitness: this.nWitness, values };
  }

  /** The `.wtns` file bytes for `input`, as `snarkjs wtns calculate` writes them. */
  calculateWtns(input: CircuitInput, options: WitnessRunOptions): Uint8Array {
    const label = options.inputLabel;
    const signals = normalizeInput(input, label);
    const runtime = new CircomRuntime(options.onLog);
    const exports = instantiate(this.#module, runtime);
    const inputs = this.#checkSignals(signals, exports, options);
    try {
      exports.init(1);
      this.#writeInputs(signals, inputs, exports, label);
      return this.#readWitness(exports);
    } catch (error) {
      throw runError(error, label);
    }
  }

  /** Every given signal is an input with the right number of values, and none is missing. */
  #checkSignals(signals: Map<string, bigint[]>, exports: CircomExports, options: WitnessRunOptions): InputSignal[] {
    const label = options.inputLabel;
    const inputs: InputSignal[] = [];
    let given = 0;
    for (const [name, values] of signals) {
      const signal = this.#input(name, exports);
      if (signal.size !== null && signal.size <= 0) throw new MismatchError(`${label}: signal ${name} is not an input of this circuit`);
      if (signal.size !== null && values.length !== signal.size) {
        throw new MismatchError(`${label}: signal ${name} has ${values.length} value(s) but the circuit expects ${signal.size}`);
      }
      inputs.push(signal);
      given += values.length;
    }
    if (given < this.nInputs) {
      const missing =
        options.symText === undefined
          ? []
          : mainSignalNames(options.symText).filter((name) => !signals.has(name) && (this.#input(name, exports).size ?? 0) > 0);
      throw new InvalidArgumentError(
        missing.length > 0
          ? `${label}: missing input signal${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`
          : `${label}: missing input signals: ${given} of the circuit's ${this.nInputs} input values are set`,
      );
    }
    return inputs;
  }

  #input(name: string, exports: CircomExports): InputSignal {
    const known = this.#inputs.get(name);
    if (known !== undefined) return known;
    const hash = signalHash(name);
    const size = typeof exports.getInputSignalSize === 'function' ? exports.getInputSignalSize(hash.high, hash.low) : null;
    const signal = { hash, size };
    if (size !== null && size > 0) this.#inputs.set(name, signal);
    return signal;
  }

  /** Each value's limbs into the shared memory, then setInputSignal; the last one runs the circuit. */
  #writeInputs(signals: Map<string, bigint[]>, inputs: InputSignal[], exports: CircomExports, label: string): void {
    const start = exports.getSharedRWMemoryStart();
    let shared = sharedLimbs(exports, start);
    let position = 0;
    for (const [name, values] of signals) {
      const { hash } = inputs[position++]!;
      for (let index = 0; index < values.length; index++) {
        // A view on a grown (detached) buffer has no bytes: take a new one.
        if (shared.length === 0) shared = sharedLimbs(exports, start);
        let value = values[index]!;
        if (value < 0n) value += BN254_R;
        for (let limb = 0; limb < LIMBS; limb++) {
          shared[limb] = Number(value & 0xffffffffn);
          value >>= 32n;
        }
        try {
          exports.setInputSignal(hash.high, hash.low, index);
        } catch (error) {
          // Codes 1, 2, 3 and 6 are about this signal itself (circuits without getInputSignalSize report sizes this way).
          if (error instanceof CircomRuntimeError && [1, 2, 3, 6].includes(error.code)) {
            throw new MismatchError(`${label}: the circuit refused value ${index} of signal ${name} (${error.message})`);
          }
          throw error;
        }
      }
    }
  }

  /** The `.wtns` bytes, each witness value's 8 limbs copied from the shared memory after getWitness(i). */
  #readWitness(exports: CircomExports): Uint8Array {
    const wtns = allocateWtns(this.nWitness);
    const out = new Uint32Array(wtns.buffer, wtns.byteOffset, wtns.byteLength >>> 2);
    const start = exports.getSharedRWMemoryStart();
    let memory = new Uint32Array(exports.memory.buffer);
    const base = start >>> 2;
    let at = WTNS_VALUES_OFFSET >>> 2;
    for (let index = 0; index < this.nWitness; index++) {
      exports.getWitness(index);
      if (memory.length === 0) memory = new Uint32Array(exports.memory.buffer);
      out[at] = memory[base]!;
      out[at + 1] = memory[base + 1]!;
      out[at + 2] = memory[base + 2]!;
      out[at + 3] = memory[base + 3]!;
      out[at + 4] = memory[base + 4]!;
      out[at + 5] = memory[base + 5]!;
      out[at + 6] = memory[base + 6]!;
      out[at + 7] = memory[base + 7]!;
      at += LIMBS;
    }
    return wtns;
  }
}

/** Compiles `wasm` into a calculator the caller keeps (and drops) with the circuit. */
export function prepareWitnessCalculator(wasm: Uint8Array): Promise<PreparedWitnessCalculator> {
  return PreparedWitnessCalculator.prepare(wasm);
}

function instantiate(module: WebAssembly.Module, runtime: CircomRuntime): CircomExports {
  const instance = new WebAssembly.Instance(module, runtime.imports());
  const exports = instance.exports as unknown as CircomExports;
  runtime.bind(exports);
  return exports;
}

function sharedLimbs(exports: CircomExports, start: number): Uint32Array {
  return new Uint32Array(exports.memory.buffer, start, LIMBS);
}

/** What a failure while running the circuit means for the caller. */
function runError(error: unknown, label: string): unknown {
  if (error instanceof CircomRuntimeError) {
    return new InvalidArgumentError(
      error.isAssertFailure
        ? `${label}: the input does not satisfy the circuit (${error.message})`
        : `${label}: the circuit's witness code stopped: ${error.message}`,
      { cause: error },
    );
  }
  if (error instanceof WebAssembly.RuntimeError) {
    return new InvalidArgumentError(`${label}: the circuit's witness code trapped (${firstLine(error)})`, { cause: error });
  }
  return error;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}
