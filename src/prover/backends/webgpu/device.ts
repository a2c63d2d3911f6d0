/**
 * The WebGPU device for this backend: adapter selection (env
 * ZKP_WEBGPU_BACKEND, ZKP_WEBGPU_ADAPTER), explicit limits, allocation with
 * out-of-memory detection, read-back, pipeline cache, and the mapping of
 * device loss / OOM to DeviceLostError. Fault injection for tests lives here
 * too (ZKP_WEBGPU_FAULT=lose-device|oom or the `fault` option).
 */
import { create, globals } from 'webgpu';
import { AssertionFailure, BackendUnavailableError, DeviceLostError, InvalidArgumentError, assert } from '../../../errors/index.ts';

export type FaultKind = 'lose-device' | 'oom';

export interface DeviceOptions {
  /** Dawn backend: 'vulkan' (default), 'metal', 'd3d12', ... */
  readonly backend?: string;
  /** Case-insensitive substring of the adapter description/device/vendor; the first adapter matching wins. */
  readonly adapterMatch?: string;
  /** Test hook: fail the first operation by losing the device, or the next allocation with OOM. */
  readonly fault?: FaultKind;
}

export function deviceOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DeviceOptions {
  const fault = env.ZKP_WEBGPU_FAULT;
  if (fault !== undefined && fault !== '' && fault !== 'lose-device' && fault !== 'oom') {
    throw new InvalidArgumentError(`ZKP_WEBGPU_FAULT must be 'lose-device' or 'oom', got '${fault}'`);
  }
  return {
    backend: env.ZKP_WEBGPU_BACKEND || 'vulkan',
    ...(env.ZKP_WEBGPU_ADAPTER ? { adapterMatch: env.ZKP_WEBGPU_ADAPTER } : {}),
    ...(fault ? { fault: fault as FaultKind } : {}),
  };
}

let globalsInstalled = false;
// Dawn's instance and adapters must outlive every device made from them:
// if the GPU object is garbage collected the process crashes. One per
// backend name, kept for the life of the process.
const instances = new Map<string, GPU>();
const adapterRefs = new Set<GPUAdapter>();
function installGlobals(): void {
  if (globalsInstalled) return;
  // GPUBufferUsage, GPUShaderStage, GPUMapMode... as the browser defines them.
  Object.assign(globalThis, globals);
  globalsInstalled = true;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  return [info.description, info.device, info.vendor, info.architecture].filter((s) => s && s.length > 0).join(' ');
}

export class GpuDevice {
  readonly device: GPUDevice;
  readonly adapterDescription: string;
  readonly backend: string;
  readonly hasTimestamps: boolean;
  private lostReason: string | null = null;
  private pendingFault: FaultKind | null;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  private constructor(device: GPUDevice, adapterDescription: string, backend: string, hasTimestamps: boolean, fault: FaultKind | null) {
    this.device = device;
    this.adapterDescription = adapterDescription;
    this.backend = backend;
    this.hasTimestamps = hasTimestamps;
    this.pendingFault = fault;
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  static async open(options: DeviceOptions): Promise<GpuDevice> {
    installGlobals();
    const backend = options.backend ?? 'vulkan';
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp'; // quiets Vulkan loader warnings
    let gpu = instances.get(backend);
    if (!gpu) {
      try {
        gpu = create([`backend=${backend}`]);
      } catch (cause) {
        throw new BackendUnavailableError(`webgpu: cannot start Dawn with backend '${backend}'`, { cause });
      }
      instances.set(backend, gpu);
    }
    const candidates: GPUAdapter[] = [];
    for (const powerPreference of ['high-performance', 'low-power'] as const) {
      const adapter = await gpu.requestAdapter({ powerPreference });
      if (adapter && !candidates.some((a) => describeAdapter(a) === describeAdapter(adapter))) candidates.push(adapter);
    }
    if (candidates.length === 0) {
      throw new BackendUnavailableError(
        `webgpu: no adapter found for Dawn backend '${backend}' (set ZKP_WEBGPU_BACKEND; on hosts without a GPU install Mesa lavapipe)`,
      );
    }
    const match = options.adapterMatch?.toLowerCase();
    const adapter = match === undefined ? candidates[0] : candidates.find((a) => describeAdapter(a).toLowerCase().includes(match));
    if (!adapter) {
      throw new BackendUnavailableError(
        `webgpu: no adapter matches ZKP_WEBGPU_ADAPTER='${options.adapterMatch}'; found: ${candidates.map(describeAdapter).join('; ')}`,
      );
    }
    adapterRefs.add(adapter);
    const l = adapter.limits;
    // Ask for everything the adapter offers that the kernels can use; the
    // defaults (128 MiB bindings, 256 invocations) would needlessly cap chunks.
    const requiredLimits: Record<string, number> = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    };
    const hasTimestamps = adapter.features.has('timestamp-query');
    const device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: hasTimestamps ? ['timestamp-query'] : [],
    });
    if (!device) throw new BackendUnavailableError(`webgpu: adapter '${describeAdapter(adapter)}' refused to create a device`);
    device.addEventListener('uncapturederror', (event) => {
      // Validation errors are bugs; they surface through the error scopes of
      // the operation that caused them. Keep a trace for diagnosis.
      const e = event as GPUUncapturedErrorEvent;
      process.emitWarning(`webgpu uncaptured error: ${e.error.message}`);
    });
    return new GpuDevice(device, describeAdapter(adapter), backend, hasTimestamps, options.fault ?? null);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** Test hook: make the next operation fail like a real device loss or OOM. */
  injectFault(kind: FaultKind): void {
    this.pendingFault = kind;
  }

  /** Called at the start of every backend operation. */
  checkAlive(operation: string): void {
    if (this.pendingFault === 'lose-device') {
      this.pendingFault = null;
      this.device.destroy();
      this.lostReason = 'destroyed: fault injected by ZKP_WEBGPU_FAULT=lose-device';
    }
    if (this.lostReason !== null) throw new DeviceLostError(`webgpu: device lost before ${operation} (${this.lostReason})`);
  }

  isLost(): boolean {
    return this.lostReason !== null;
  }

  /** Converts a failure during an operation into DeviceLostError when the device is gone. */
  wrapFailure(operation: string, cause: unknown): unknown {
    if (cause instanceof DeviceLostError) return cause;
    if (this.lostReason !== null) return new DeviceLostError(`webgpu: device lost during ${operation} (${this.lostReason})`, { cause });
    return cause;
  }

  async createBuffer(label: string, size_bytes: number, usage: number): Promise<GPUBuffer> {
    assert(Number.isInteger(size_bytes) && size_bytes >= 0, `buffer ${label}: bad size ${size_bytes}`);
    if (this.pendingFault === 'oom') {
      this.pendingFault = null;
      throw new DeviceLostError(`webgpu: out of memory allocating ${label} (${size_bytes} bytes; fault injected by ZKP_WEBGPU_FAULT=oom)`);
    }
    if (size_bytes > this.limits.maxBufferSize) {
      throw new DeviceLostError(`webgpu: ${label} needs ${size_bytes} bytes, over maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const size = Math.max(16, Math.ceil(size_bytes / 16) * 16);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ label, size, usage });
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (oom) {
      buffer.destroy();
      throw new DeviceLostError(`webgpu: out of memory allocating ${label} (${size} bytes): ${oom.message}`);
    }
    if (validation) throw new AssertionFailure(`webgpu: invalid buffer ${label} (${size} bytes): ${validation.message}`);
    return buffer;
  }

  async storageBuffer(label: string, size_bytes: number, extraUsage = 0): Promise<GPUBuffer> {
    return this.createBuffer(label, size_bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC | extraUsage);
  }

  async uploadBuffer(label: string, data: Uint8Array): Promise<GPUBuffer> {
    const buffer = await this.storageBuffer(label, data.byteLength);
    this.write(buffer, 0, data);
    return buffer;
  }

  write(buffer: GPUBuffer, offset_bytes: number, data: Uint8Array): void {
    // writeBuffer needs a multiple of 4 bytes; every layout here is.
    assert(data.byteLength % 4 === 0, 'upload size must be a multiple of 4 bytes');
    if (data.byteLength > 0) this.device.queue.writeBuffer(buffer, offset_bytes, data.buffer, data.byteOffset, data.byteLength);
  }

  async uniform(label: string, words: readonly number[]): Promise<GPUBuffer> {
    const buffer = await this.createBuffer(label, words.length * 4, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, new Uint32Array(words));
    return buffer;
  }

  /** Copies `size_bytes` from `source` back to the host (waits for queued work). */
  async read(source: GPUBuffer, size_bytes: number, offset_bytes = 0): Promise<Uint8Array> {
    const staging = await this.createBuffer('readback', size_bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(source, offset_bytes, staging, 0, Math.ceil(size_bytes / 4) * 4);
      this.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = new Uint8Array(staging.getMappedRange().slice(0, size_bytes));
      staging.unmap();
      return bytes;
    } finally {
      staging.destroy();
    }
  }

  /** One compiled pipeline per (module key, entry point), compiled on first use. */
  async pipeline(moduleKey: string, buildCode: () => string, entryPoint: string): Promise<GPUComputePipeline> {
    const key = `${moduleKey}#${entryPoint}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    let module = this.modules.get(moduleKey);
    if (!module) {
      module = this.device.createShaderModule({ label: moduleKey, code: buildCode() });
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0) {
        throw new AssertionFailure(`webgpu: shader ${moduleKey} does not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
      }
      this.modules.set(moduleKey, module);
    }
    this.device.pushErrorScope('validation');
    const pipeline = await this.device.createComputePipelineAsync({ label: key, layout: 'auto', compute: { module, entryPoint } });
    const error = await this.device.popErrorScope();
    if (error) throw new AssertionFailure(`webgpu: pipeline ${key}: ${error.message}`);
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  bindGroup(pipeline: GPUComputePipeline, buffers: ReadonlyArray<readonly [number, GPUBuffer] | readonly [number, GPUBuffer, number, number]>): GPUBindGroup {
    return this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((b) => ({ binding: b[0], resource: b.length === 4 ? { buffer: b[1], offset: b[2], size: b[3] } : { buffer: b[1] } })),
    });
  }

  /** Workgroup grid for `threads` invocations: 2-D when over the per-dimension limit (kernels use linear_id). */
  grid(threads: number, workgroupSize: number): [number, number] {
    const groups = Math.max(1, Math.ceil(threads / workgroupSize));
    const maxX = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= maxX) return [groups, 1];
    const y = Math.ceil(groups / maxX);
    assert(y <= maxX, `dispatch of ${threads} threads is too large`);
    return [maxX, y];
  }

  private timer: { querySet: GPUQuerySet; capacity: number; used: number } | null = null;

  /**
   * Starts summing device time of every compute pass (timestamp-query), for
   * benchmarks. Two queries per pass; WebGPU caps a query set at 4096
   * queries, so at most 2048 passes are timed.
   */
  startKernelTiming(maxPasses = 2048): boolean {
    if (!this.hasTimestamps) return false;
    this.timer?.querySet.destroy();
    const passes = Math.min(maxPasses, 2048);
    this.timer = { querySet: this.device.createQuerySet({ type: 'timestamp', count: 2 * passes }), capacity: passes, used: 0 };
    return true;
  }

  /** Device milliseconds spent in compute passes since startKernelTiming (null without timestamp-query). */
  async stopKernelTiming(): Promise<number | null> {
    const timer = this.timer;
    this.timer = null;
    if (!timer) return null;
    try {
      if (timer.used === 0) return 0;
      const bytes = timer.used * 16;
      const resolve = await this.createBuffer('timestamps', bytes, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
      const encoder = this.device.createCommandEncoder();
      encoder.resolveQuerySet(timer.querySet, 0, timer.used * 2, resolve, 0);
      this.device.queue.submit([encoder.finish()]);
      const raw = await this.read(resolve, bytes);
      resolve.destroy();
      const ticks = new BigUint64Array(raw.buffer, raw.byteOffset, timer.used * 2);
      let total_ns = 0n;
      let anyNonZero = false;
      for (let i = 0; i < timer.used; i++) {
        total_ns += ticks[2 * i + 1]! - ticks[2 * i]!;
        anyNonZero ||= ticks[2 * i + 1]! !== 0n;
      }
      // All-zero timestamps mean the driver did not record them (lavapipe
      // through Dawn does this): report "unknown", not 0 ms.
      return anyNonZero ? Number(total_ns) / 1e6 : null;
    } finally {
      timer.querySet.destroy();
    }
  }

  /** Every compute pass starts here so kernel timing (when on) covers it. */
  beginPass(encoder: GPUCommandEncoder): GPUComputePassEncoder {
    const timer = this.timer;
    if (!timer || timer.used >= timer.capacity) return encoder.beginComputePass();
    const i = timer.used++;
    return encoder.beginComputePass({ timestampWrites: { querySet: timer.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
  }

  destroy(): void {
    this.device.destroy();
  }
}
