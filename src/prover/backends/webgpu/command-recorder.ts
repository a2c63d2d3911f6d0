/**
 * Records one operation's copies, clears and labelled compute passes. Normally
 * everything goes into one command buffer, submitted by submit(). When the
 * device times passes by submission (pass-timing.ts), each pass is submitted
 * alone and waited for, with the commands recorded before it submitted
 * first, so the order on the queue is the same either way.
 */
import type { GpuDevice } from './device.ts';

export class CommandRecorder {
  private readonly gpu: GpuDevice;
  private encoder: GPUCommandEncoder;
  private recorded = false;

  constructor(gpu: GpuDevice) {
    this.gpu = gpu;
    this.encoder = gpu.device.createCommandEncoder();
  }

  /** The encoder for copies and clears; they run in order with the passes. */
  get commands(): GPUCommandEncoder {
    this.recorded = true;
    return this.encoder;
  }

  /** One compute pass of one dispatch. */
  async dispatch(
    label: string,
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    grid: readonly [number, number],
    dynamicOffsets: readonly number[] = [],
  ): Promise<void> {
    const bySubmission = this.gpu.passTimingMethod() === 'submission';
    if (bySubmission && this.recorded) await this.flush();
    const pass = this.gpu.beginPass(this.encoder, label);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, dynamicOffsets);
    pass.dispatchWorkgroups(grid[0], grid[1]);
    pass.end();
    this.recorded = true;
    if (bySubmission) {
      const started = performance.now();
      await this.flush();
      this.gpu.recordSubmittedPass(label, performance.now() - started);
    }
  }

  private async flush(): Promise<void> {
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.encoder = this.gpu.device.createCommandEncoder();
    this.recorded = false;
    await this.gpu.device.queue.onSubmittedWorkDone();
  }

  /** Submits what is recorded (does not wait). */
  submit(): void {
    if (!this.recorded) return;
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.encoder = this.gpu.device.createCommandEncoder();
    this.recorded = false;
  }
}
