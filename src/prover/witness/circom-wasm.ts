/**
 * The ABI of a circom 2 witness generator (`<circuit>.wasm`), as far as this
 * project uses it. The module exports its own memory and a fixed set of
 * functions; values travel through a "shared read-write memory" of
 * getFieldNumLen32() 32-bit limbs, least significant first, at
 * getSharedRWMemoryStart() in that memory:
 *
 *   getRawPrime()              the field modulus into the shared memory
 *   init(check)                resets the instance for one witness
 *   getInputSignalSize(hi, lo) values the input with that name hash takes (<= 0: not an input)
 *   setInputSignal(hi, lo, i)  value i of that input from the shared memory; the last
 *                              input set runs the circuit
 *   getWitness(i)              witness value i (standard form) into the shared memory
 *
 * It imports four functions from "runtime": exceptionHandler(code) when the
 * computation must stop (the message lines printed before it say where),
 * printErrorMessage() for one such line, writeBufferMessage() for one piece of
 * a log() line ("\n" ends the line) and showSharedRWMemory() for a logged
 * value; message text is read a byte at a time with getMessageChar() until 0.
 */
import { InvalidArgumentError } from '../../errors/index.ts';

export interface CircomExports {
  readonly memory: WebAssembly.Memory;
  getVersion(): number;
  getMinorVersion?(): number;
  getPatchVersion?(): number;
  getSharedRWMemoryStart(): number;
  readSharedRWMemory(limb: number): number;
  writeSharedRWMemory(limb: number, value: number): void;
  init(check: number): void;
  setInputSignal(hashHigh: number, hashLow: number, index: number): void;
  /** Absent before circom 2.1; without it input sizes are only checked by the circuit's own exceptions. */
  getInputSignalSize?(hashHigh: number, hashLow: number): number;
  getRawPrime(): void;
  getFieldNumLen32(): number;
  getWitnessSize(): number;
  getInputSize(): number;
  getWitness(index: number): void;
  getMessageChar(): number;
}

const REQUIRED_FUNCTIONS = [
  'getVersion',
  'getSharedRWMemoryStart',
  'readSharedRWMemory',
  'writeSharedRWMemory',
  'init',
  'setInputSignal',
  'getRawPrime',
  'getFieldNumLen32',
  'getWitnessSize',
  'getInputSize',
  'getWitness',
  'getMessageChar',
] as const;

/** Refuses a module that is not a circom 2 witness generator, naming what it lacks. */
export function checkCircomModule(module: WebAssembly.Module): void {
  const exported = new Map(WebAssembly.Module.exports(module).map((entry) => [entry.name, entry.kind]));
  const missing: string[] = REQUIRED_FUNCTIONS.filter((name) => exported.get(name) !== 'function');
  if (exported.get('memory') !== 'memory') missing.push('memory');
  if (missing.length > 0) {
    const memoryImport = WebAssembly.Module.imports(module).some((entry) => entry.kind === 'memory');
    throw new InvalidArgumentError(
      `circuit .wasm is not a circom 2 witness generator: it does not export ${missing.join(', ')}` +
        (memoryImport ? ' (it imports its memory, as circom 1 wasm does; recompile the circuit with circom 2)' : ''),
    );
  }
  for (const entry of WebAssembly.Module.imports(module)) {
    if (entry.module !== 'runtime' || entry.kind !== 'function' || !(entry.name in RUNTIME_IMPORT_NAMES)) {
      throw new InvalidArgumentError(`circuit .wasm imports ${entry.module}.${entry.name} (${entry.kind}), which a circom 2 witness generator does not`);
    }
  }
}

const RUNTIME_IMPORT_NAMES = { exceptionHandler: 0, printErrorMessage: 0, writeBufferMessage: 0, showSharedRWMemory: 0 } as const;

/** What exceptionHandler's code means (circom 2.2 uses 1 to 7). */
const EXCEPTION_MEANINGS: Readonly<Record<number, string>> = {
  1: 'signal not found',
  2: 'too many signals set',
  3: 'signal already set',
  4: 'assert failed',
  5: 'not enough memory',
  6: 'input signal array access exceeds the size',
  7: 'out of bounds array access',
};

/** The circuit stopped the computation: `code` says why, `trace` where (innermost template first). */
export class CircomRuntimeError extends Error {
  readonly code: number;
  readonly trace: readonly string[];
  constructor(code: number, trace: readonly string[]) {
    const what = EXCEPTION_MEANINGS[code] ?? `unknown error code ${code}`;
    super(trace.length === 0 ? what : `${what} ${describeTrace(trace)}`);
    this.name = 'CircomRuntimeError';
    this.code = code;
    this.trace = trace;
  }

  get isAssertFailure(): boolean {
    return this.code === 4;
  }
}

/** "Error in template A_0 line: 8", "Error in template B_1 line: 17" -> "in template A_0 line 8, called from B_1 line 17". */
function describeTrace(trace: readonly string[]): string {
  const places = trace.map((line) => {
    const match = /^Error in template (\S+) line: (\d+)$/.exec(line.trim());
    return match === null ? line.trim() : `${match[1]} line ${match[2]}`;
  });
  const [innermost, ...callers] = places;
  const first = /^\S+ line \d+$/.test(innermost!) ? `in template ${innermost}` : innermost!;
  return callers.length === 0 ? first : `${first}, called from ${callers.join(', called from ')}`;
}

/** Receives each complete line a circuit's log() writes. */
export type CircuitLogSink = (line: string) => void;

/**
 * The "runtime" imports for one instance. The instance is bound after
 * instantiation (the imports must exist first); messages are collected per
 * instance, so concurrent instances never mix their lines.
 */
export class CircomRuntime {
  #exports: CircomExports | null = null;
  readonly #trace: string[] = [];
  #logLine: string[] = [];
  readonly #onLog: CircuitLogSink | undefined;

  constructor(onLog: CircuitLogSink | undefined) {
    this.#onLog = onLog;
  }

  bind(exports: CircomExports): void {
    this.#exports = exports;
  }

  imports(): WebAssembly.Imports {
    return {
      runtime: {
        exceptionHandler: (code: number) => {
          throw new CircomRuntimeError(code, this.#trace.splice(0));
        },
        printErrorMessage: () => {
          this.#trace.push(this.#message());
        },
        writeBufferMessage: () => {
          const piece = this.#message();
          if (piece !== '\n') {
            this.#logLine.push(piece);
            return;
          }
          const line = this.#logLine.join(' ');
          this.#logLine = [];
          this.#onLog?.(line);
        },
        showSharedRWMemory: () => {
          this.#logLine.push(readSharedValue(this.#bound()).toString());
        },
      },
    };
  }

  #bound(): CircomExports {
    if (this.#exports === null) throw new Error('circom runtime import called before the instance was bound');
    return this.#exports;
  }

  #message(): string {
    const exports = this.#bound();
    const codes: number[] = [];
    for (let code = exports.getMessageChar(); code !== 0; code = exports.getMessageChar()) codes.push(code);
    return String.fromCharCode(...codes);
  }
}

/** The value in the shared memory, as an unsigned integer (limb 0 is the least significant). */
export function readSharedValue(exports: CircomExports): bigint {
  const limbs = exports.getFieldNumLen32();
  let value = 0n;
  for (let limb = limbs - 1; limb >= 0; limb--) value = (value << 32n) | BigInt(exports.readSharedRWMemory(limb) >>> 0);
  return value;
}
