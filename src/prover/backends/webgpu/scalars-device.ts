/**
 * Scalar vectors kept on the device for several MSMs: the witness, shared by
 * the A, B1, B2 and C MSMs of a prove, and h, which computeH leaves on the
 * device for the H MSM. A vector is used only while the caller has shared it
 * (ResidentCircuit.shareScalars): the caller promises it stays unchanged
 * until the share is released, and that an h this backend returned from
 * computeH is unchanged since it was returned.
 */
import type { GpuDevice } from './device.ts';

/** Where an MSM's scalars start in a device buffer (in 32-byte elements). */
export interface DeviceScalars {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  /**
   * Names the buffer's contents: unique to one share of one vector, so equal
   * generations mean equal scalars (the MSM engine reuses its scalar sort
   * on that: A and B1 of a prove).
   */
  readonly generation: number;
}

interface Shared {
  readonly host: Uint8Array;
  readonly buffer: GPUBuffer;
  readonly generation: number;
  /** Destroyed with the share (uploaded by it); computeH's output buffer is not. */
  readonly owned: boolean;
}

const FR_BYTES = 32;

export class ScalarRegistry {
  private readonly gpu: GpuDevice;
  private shared: Shared[] = [];
  /** computeH's latest result: the returned bytes and the device buffer that still holds them. */
  private computed: { host: Uint8Array; buffer: GPUBuffer } | null = null;
  private nextGeneration = 1;

  constructor(gpu: GpuDevice) {
    this.gpu = gpu;
  }

  /** computeH calls this with its result; a later computeH overwrites the buffer, so only the latest counts. */
  noteComputed(host: Uint8Array, buffer: GPUBuffer): void {
    this.computed = { host, buffer };
  }

  /** computeH calls this before it overwrites its output buffer. */
  forgetComputed(): void {
    this.shared = this.shared.filter((s) => s.owned || s.buffer !== this.computed?.buffer);
    this.computed = null;
  }

  /** Shares `vectors` until the returned release runs (or the next share: at most one set is shared at a time). */
  async share(vectors: readonly Uint8Array[]): Promise<() => Promise<void>> {
    this.release();
    const mine: Shared[] = [];
    try {
      for (const host of vectors) {
        if (host.byteLength === 0 || host.byteLength % FR_BYTES !== 0) continue;
        if (this.computed && this.computed.host === host) {
          mine.push({ host, buffer: this.computed.buffer, owned: false, generation: this.nextGeneration++ });
          continue;
        }
        mine.push({ host, buffer: await this.gpu.uploadBuffer('shared-scalars', host), owned: true, generation: this.nextGeneration++ });
      }
    } catch (e) {
      for (const s of mine) if (s.owned) s.buffer.destroy();
      throw e;
    }
    this.shared = mine;
    return async () => {
      if (this.shared === mine) this.release();
    };
  }

  /** The device copy holding `scalars` (the vector itself or a 32-byte-aligned part of a shared one), if any. */
  find(scalars: Uint8Array): DeviceScalars | undefined {
    for (const s of this.shared) {
      if (s.host.buffer !== scalars.buffer) continue;
      const delta = scalars.byteOffset - s.host.byteOffset;
      if (delta < 0 || delta % FR_BYTES !== 0 || delta + scalars.byteLength > s.host.byteLength) continue;
      return { buffer: s.buffer, offset: delta / FR_BYTES, generation: s.generation };
    }
    return undefined;
  }

  release(): void {
    for (const s of this.shared) if (s.owned) s.buffer.destroy();
    this.shared = [];
  }
}
