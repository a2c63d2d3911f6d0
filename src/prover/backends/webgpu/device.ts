/**
 * The WebGPU device for this backend: adapter selection (env
 * ZKP_WEBGPU_BACKEND, ZKP_WEBGPU_ADAPTER), explicit limits, allocation with
 * out-of-memory detection, read-back, pipeline cache, and the mapping of
 * device loss / OOM to DeviceLostError. Fault injection for tests lives here
 * too (ZKP_WEBGPU_FAULT=lose-device|oom or the `fault` option).
 */
import { create, globals } from 'webgpu';
import { AssertionFailure, BackendUnavailableError, DeviceLostError, InvalidArgumentError, assert } from '../../../errors/index.ts';
import { MAX_TIMED_PASSES, PassTimer, type PassTiming, type TimingMethod } from './pass-timing.ts';

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

type BindingKind = 'uniform' | 'read-only-storage' | 'storage';

/** The group-0 bindings a WGSL text declares, by kind (uniform, storage read, storage read_write). */
export function parseBindingKinds(code: string): Map<number, BindingKind> {
  const kinds = new Map<number, BindingKind>();
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(uniform|storage\s*,\s*read_write|storage\s*,\s*read|storage)\s*>/g)) {
    const decl = m[2]!.replace(/\s/g, '');
    kinds.set(Number(m[1]), decl === 'uniform' ? 'uniform' : decl === 'storage,read_write' ? 'storage' : 'read-only-storage');
  }
  return kinds;
}

/** One pipeline compile: the shader module (first pipeline of a module only) and the pipeline itself. */
export interface CompileRecord {
  readonly module: string;
  readonly entry: string;
  /** Creating and checking the shader module; 0 when the module was already compiled. */
  readonly module_ms: number;
  readonly pipeline_ms: number;
}

/** Host-side work counted since the device opened (benchmarks read differences). */
export interface DeviceCounters {
  buffers_created: number;
  bytes_allocated: number;
  /** Data (scalars, bases, vectors) written to the device. */
  bytes_uploaded: number;
  /** Dispatch parameters (uniform slots) written to the device. */
  param_bytes_uploaded: number;
  bytes_read: number;
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
  private readonly compiles: CompileRecord[] = [];
  private readonly bindingKinds = new Map<string, ReadonlyMap<number, BindingKind>>();
  private readonly counts: DeviceCounters = { buffers_created: 0, bytes_allocated: 0, bytes_uploaded: 0, param_bytes_uploaded: 0, bytes_read: 0 };

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
    this.counts.buffers_created += 1;
    this.counts.bytes_allocated += size;
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

  write(buffer: GPUBuffer, offset_bytes: number, data: Uint8Array, kind: 'data' | 'params' = 'data'): void {
    // writeBuffer needs a multiple of 4 bytes; every layout here is.
    assert(data.byteLength % 4 === 0, 'upload size must be a multiple of 4 bytes');
    if (data.byteLength > 0) this.device.queue.writeBuffer(buffer, offset_bytes, data.buffer, data.byteOffset, data.byteLength);
    if (kind === 'data') this.counts.bytes_uploaded += data.byteLength;
    else this.counts.param_bytes_uploaded += data.byteLength;
  }

  async uniform(label: string, words: readonly number[]): Promise<GPUBuffer> {
    const buffer = await this.createBuffer(label, words.length * 4, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buffer, 0, new Uint32Array(words));
    this.counts.param_bytes_uploaded += words.length * 4;
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
      this.counts.bytes_read += size_bytes;
      return bytes;
    } finally {
      staging.destroy();
    }
  }

  /** Maps a caller-owned MAP_READ buffer (already filled by submitted copies) and returns its first `size_bytes`. */
  async readMapped(staging: GPUBuffer, size_bytes: number): Promise<Uint8Array> {
    const mapped_bytes = Math.ceil(size_bytes / 8) * 8;
    await staging.mapAsync(GPUMapMode.READ, 0, mapped_bytes);
    try {
      const bytes = new Uint8Array(staging.getMappedRange(0, mapped_bytes).slice(0, size_bytes));
      this.counts.bytes_read += size_bytes;
      return bytes;
    } finally {
      staging.unmap();
    }
  }

  /**
   * One compiled pipeline per (module key, entry point), compiled on first use.
   * With `bindings` (the group-0 bindings the entry uses) the pipeline gets an
   * explicit layout in which every uniform binding takes a dynamic offset
   * (one uniform buffer of 256-byte slots serves every dispatch); without, 'auto'.
   */
  async pipeline(moduleKey: string, buildCode: () => string, entryPoint: string, bindings?: readonly number[]): Promise<GPUComputePipeline> {
    const key = `${moduleKey}#${entryPoint}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const started = performance.now();
    let module_ms = 0;
    let module = this.modules.get(moduleKey);
    if (!module) {
      const code = buildCode();
      module = this.device.createShaderModule({ label: moduleKey, code });
      this.bindingKinds.set(moduleKey, parseBindingKinds(code));
      const info = await module.getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0) {
        throw new AssertionFailure(`webgpu: shader ${moduleKey} does not compile: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
      }
      this.modules.set(moduleKey, module);
      module_ms = performance.now() - started;
    }
    this.device.pushErrorScope('validation');
    const layout = bindings === undefined ? 'auto' : this.explicitLayout(key, this.bindingKinds.get(moduleKey)!, bindings);
    const pipeline = await this.device.createComputePipelineAsync({ label: key, layout, compute: { module, entryPoint } });
    const error = await this.device.popErrorScope();
    if (error) throw new AssertionFailure(`webgpu: pipeline ${key}: ${error.message}`);
    this.pipelines.set(key, pipeline);
    this.compiles.push({ module: moduleKey, entry: entryPoint, module_ms, pipeline_ms: performance.now() - started - module_ms });
    return pipeline;
  }

  private explicitLayout(label: string, kinds: ReadonlyMap<number, BindingKind>, bindings: readonly number[]): GPUPipelineLayout {
    const entries: GPUBindGroupLayoutEntry[] = bindings.map((binding) => {
      const kind = kinds.get(binding);
      assert(kind !== undefined, () => `${label}: the shader declares no @binding(${binding})`);
      return {
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: kind === 'uniform' ? { type: 'uniform', hasDynamicOffset: true } : { type: kind },
      };
    });
    const group = this.device.createBindGroupLayout({ label, entries });
    return this.device.createPipelineLayout({ label, bindGroupLayouts: [group] });
  }

  /** Bytes between the uniform slots of a dynamic-offset uniform buffer. */
  get uniformSlotBytes(): number {
    return Math.max(256, this.limits.minUniformBufferOffsetAlignment);
  }

  /** Every pipeline compiled on this device so far, in order. */
  compileRecords(): CompileRecord[] {
    return [...this.compiles];
  }

  /** A snapshot of the host-side work counters. */
  counters(): DeviceCounters {
    return { ...this.counts };
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

  private passTimer: PassTimer | null = null;
  private timestampsRecorded: boolean | null = null;

  /**
   * Whether timestamp queries come back non-zero: an empty pass is timed once
   * (lavapipe through Dawn offers the feature but writes zeros).
   */
  async timestampsWork(): Promise<boolean> {
    if (this.timestampsRecorded !== null) return this.timestampsRecorded;
    if (!this.hasTimestamps) {
      this.timestampsRecorded = false;
      return false;
    }
    const timer = new PassTimer(this.device, 'timestamp', 1);
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.beginComputePass({ timestampWrites: timer.timestampWrites('probe') }).end();
      this.device.queue.submit([encoder.finish()]);
      const result = await this.resolveTimer(timer);
      this.timestampsRecorded = result.total_ms !== null;
    } finally {
      timer.destroy();
    }
    return this.timestampsRecorded;
  }

  /**
   * Starts timing every compute pass, for benchmarks: by timestamp queries
   * where they work (at most MAX_TIMED_PASSES passes), else by submitting
   * each pass alone (see pass-timing.ts). `method` forces one.
   */
  async startPassTiming(method?: TimingMethod): Promise<TimingMethod> {
    const chosen = method ?? ((await this.timestampsWork()) ? 'timestamp' : 'submission');
    if (chosen === 'timestamp') assert(this.hasTimestamps, 'this adapter has no timestamp-query');
    this.passTimer?.destroy();
    this.passTimer = new PassTimer(this.device, chosen);
    return chosen;
  }

  /** The passes timed since startPassTiming (waits for queued work); null when timing was not on. */
  async stopPassTiming(): Promise<PassTiming | null> {
    const timer = this.passTimer;
    this.passTimer = null;
    if (!timer) return null;
    try {
      await this.device.queue.onSubmittedWorkDone();
      return await this.resolveTimer(timer);
    } finally {
      timer.destroy();
    }
  }

  private async resolveTimer(timer: PassTimer): Promise<PassTiming> {
    const queries = timer.queries();
    if (queries === null) return timer.result(null);
    const bytes = queries.count * 8;
    const resolve = await this.createBuffer('timestamps', bytes, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.resolveQuerySet(queries.querySet, 0, queries.count, resolve, 0);
      this.device.queue.submit([encoder.finish()]);
      const raw = await this.read(resolve, bytes);
      return timer.result(new BigUint64Array(raw.buffer, raw.byteOffset, queries.count));
    } finally {
      resolve.destroy();
    }
  }

  /** 'submission' while passes are timed by submission (CommandRecorder submits each pass alone then). */
  passTimingMethod(): TimingMethod | null {
    return this.passTimer?.method ?? null;
  }

  recordSubmittedPass(label: string, ms: number): void {
    this.passTimer?.recordSubmission(label, ms);
  }

  /** Older interface (bench/device): device ms of every pass by timestamp queries; false without timestamp-query. */
  startKernelTiming(maxPasses = MAX_TIMED_PASSES): boolean {
    if (!this.hasTimestamps) return false;
    this.passTimer?.destroy();
    this.passTimer = new PassTimer(this.device, 'timestamp', maxPasses);
    return true;
  }

  /** Sum of the passes timed since startKernelTiming; null where the timestamps were not recorded. */
  async stopKernelTiming(): Promise<number | null> {
    const timing = await this.stopPassTiming();
    if (timing === null) return null;
    return timing.passes.length === 0 ? 0 : timing.total_ms;
  }

  /** Every compute pass starts here so pass timing (when on) covers it. */
  beginPass(encoder: GPUCommandEncoder, label = 'pass'): GPUComputePassEncoder {
    const timer = this.passTimer;
    if (timer?.method !== 'timestamp') return encoder.beginComputePass({ label });
    const timestampWrites = timer.timestampWrites(label);
    return encoder.beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
  }

  destroy(): void {
    this.device.destroy();
  }
}
