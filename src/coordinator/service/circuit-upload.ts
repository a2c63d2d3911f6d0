/**
 * RegisterCircuit's upload: the header, then the artifacts' bytes in chunks
 * (any order of kinds). Each artifact is spooled to a file under the
 * coordinator's data directory while it is hashed, so a large zkey never sits
 * in memory twice and nothing reaches the store before its hash and size
 * match what the header declared.
 */
import { createHash, type Hash, randomBytes } from 'node:crypto';
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactKindName, CircuitHeaderMessage, RegisterCircuitRequestMessage } from '../../api/types.ts';
import { InvalidArgumentError, MismatchError, ResourceExhaustedError } from '../../errors/index.ts';

export type CircuitArtifactKind = 'WASM' | 'ZKEY' | 'VKEY';

export interface UploadLimits {
  readonly wasm_bytes_max: number;
  readonly zkey_bytes_max: number;
  readonly vkey_bytes_max: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  wasm_bytes_max: 512 * 1024 * 1024,
  zkey_bytes_max: 16 * 1024 * 1024 * 1024,
  vkey_bytes_max: 16 * 1024 * 1024,
};

export interface SpooledArtifact {
  readonly kind: CircuitArtifactKind;
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface SpooledUpload {
  readonly name: string;
  readonly wasm: SpooledArtifact;
  readonly zkey: SpooledArtifact;
  /** Null when the client sent no verification key (the service derives it). */
  readonly vkey: SpooledArtifact | null;
  /** Removes the spooled files. */
  dispose(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface Expected {
  readonly sha256: string;
  readonly bytes: number;
}

/** The header's promises, checked before any byte is written. */
function checkHeader(header: CircuitHeaderMessage, limits: UploadLimits): Record<CircuitArtifactKind, Expected | null> {
  if (header.name !== '' && !NAME.test(header.name)) {
    throw new InvalidArgumentError(
      `circuit name ${JSON.stringify(header.name)} must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const expect = (kind: CircuitArtifactKind, sha256: string, bytes: number, bytes_max: number, required: boolean): Expected | null => {
    const lower = kind.toLowerCase();
    if (sha256 === '' && bytes === 0 && !required) return null;
    if (!HEX64.test(sha256)) throw new InvalidArgumentError(`the header's ${lower}_sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256)}`);
    if (!Number.isSafeInteger(bytes) || bytes < 1)
      throw new InvalidArgumentError(`the header's ${lower}_bytes must be the ${kind}'s size in bytes, got ${bytes}`);
    if (bytes > bytes_max) throw new ResourceExhaustedError(`the ${kind} is ${bytes} bytes; this coordinator accepts at most ${bytes_max} (upload limits)`);
    return { sha256, bytes };
  };
  return {
    WASM: expect('WASM', header.wasm_sha256, header.wasm_bytes, limits.wasm_bytes_max, true),
    ZKEY: expect('ZKEY', header.zkey_sha256, header.zkey_bytes, limits.zkey_bytes_max, true),
    VKEY: expect('VKEY', header.vkey_sha256, header.vkey_bytes, limits.vkey_bytes_max, false),
  };
}

interface Sink {
  readonly file: FileHandle;
  readonly hash: Hash;
  bytes: number;
}

/**
 * Reads the whole upload into files under `spoolDir`; fails (and removes what
 * it wrote) on a missing header, an unexpected kind, more or fewer bytes than
 * declared, or a hash that differs from the header's (MismatchError naming both).
 */
export async function spoolUpload(messages: AsyncIterable<RegisterCircuitRequestMessage>, spoolDir: string, limits: UploadLimits): Promise<SpooledUpload> {
  const dir = join(spoolDir, `upload-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const sinks = new Map<CircuitArtifactKind, Sink>();
  const dispose = async (): Promise<void> => {
    for (const sink of sinks.values()) await sink.file.close().catch(() => undefined);
    sinks.clear();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let expected: Record<CircuitArtifactKind, Expected | null> | null = null;
    let name = '';
    for await (const message of messages) {
      if ('header' in message && message.header !== undefined && message.header !== null) {
        if (expected !== null) throw new InvalidArgumentError('the upload sent a second header; send one header, then the chunks');
        expected = checkHeader(message.header, limits);
        name = message.header.name;
        continue;
      }
      if (!('chunk' in message) || message.chunk === undefined || message.chunk === null)
        throw new InvalidArgumentError('an upload message carries neither a header nor a chunk');
      if (expected === null) throw new InvalidArgumentError('the upload must start with its header (name, hashes and sizes), before any chunk');
      const kind = artifactKind(message.chunk.kind);
      const promised = expected[kind];
      if (promised === null) throw new InvalidArgumentError(`the upload sent ${kind} bytes but its header declares no ${kind} (give its sha256 and size)`);
      let sink = sinks.get(kind);
      if (sink === undefined) {
        sink = { file: await open(join(dir, kind.toLowerCase()), 'w'), hash: createHash('sha256'), bytes: 0 };
        sinks.set(kind, sink);
      }
      const data = message.chunk.data;
      if (sink.bytes + data.length > promised.bytes) {
        throw new InvalidArgumentError(`the upload sent more ${kind} bytes than the ${promised.bytes} its header declares`);
      }
      sink.hash.update(data);
      sink.bytes += data.length;
      await sink.file.write(data);
    }
    if (expected === null) throw new InvalidArgumentError('the upload was empty: send a header, then the chunks');
    const finish = async (kind: CircuitArtifactKind): Promise<SpooledArtifact | null> => {
      const promised = expected[kind];
      if (promised === null) return null;
      const sink = sinks.get(kind);
      const got = sink?.bytes ?? 0;
      if (got !== promised.bytes) throw new InvalidArgumentError(`the upload ended after ${got} of the ${promised.bytes} ${kind} bytes its header declares`);
      const sha256 = sink!.hash.digest('hex');
      await sink!.file.close();
      sinks.delete(kind);
      if (sha256 !== promised.sha256) {
        throw new MismatchError(
          `the ${kind} received hashes to sha256 ${sha256} but the header says ${promised.sha256}; the upload was corrupted or the header is wrong`,
        );
      }
      return { kind, path: join(dir, kind.toLowerCase()), sha256, bytes: got };
    };
    const wasm = await finish('WASM');
    const zkey = await finish('ZKEY');
    const vkey = await finish('VKEY');
    return { name, wasm: wasm!, zkey: zkey!, vkey, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

function artifactKind(kind: ArtifactKindName | string): CircuitArtifactKind {
  if (kind === 'WASM' || kind === 'ZKEY' || kind === 'VKEY') return kind;
  throw new InvalidArgumentError(`a circuit upload carries WASM, ZKEY and VKEY chunks, not ${kind}`);
}
