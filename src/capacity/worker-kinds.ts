/**
 * The worker kinds of one circuit in a prove-bench report, each with its
 * service-time samples: what one job occupies a worker for.
 *
 * Service time of a job = the circuit's witness median + one warm prove
 * sample (key resident, as a worker proves), for every warm sample. The
 * witness is measured once per circuit, not beside each prove, so it is a
 * constant shift rather than paired sample by sample. A worker also fetches
 * the input, verifies the proof and reports it; the bench does not time
 * those, so they are not in the service time (docs/capacity.md).
 *
 * Device: native, snarkjs and peer:* workers run on CPUs; webgpu is a GPU
 * worker unless the report's adapter is a software one (lavapipe), which is
 * a CPU running Vulkan and priced as a CPU host.
 */
import { type BackendName, type BenchReport, type CircuitInfo, percentile, type ProveRun } from '../bench-report/schema.ts';
import { NotFoundError } from '../errors/index.ts';
import { type ServiceTime, serviceTime } from './queueing.ts';

export type Device = 'cpu' | 'gpu';

/** Below this many warm samples the empirical p99 is simply the largest sample, and the output says so. */
const FEW_SAMPLES = 20;

export interface WorkerKind {
  readonly backend: BackendName;
  readonly device: Device;
  /** Said beside the kind: why a webgpu worker counts as a CPU one, where the witness time came from. */
  readonly notes: readonly string[];
  readonly witness_ms: number;
  readonly service: ServiceTime;
}

export interface UnplannedKind {
  readonly backend: BackendName;
  readonly reason: string;
}

export interface CircuitKinds {
  readonly circuit: CircuitInfo;
  readonly kinds: readonly WorkerKind[];
  readonly unplanned: readonly UnplannedKind[];
}

/** The circuits to plan: the one named, or all of them; NotFoundError listing the report's circuits when the name is not one. */
export function circuitsToPlan(report: BenchReport, name: string | null, label: string): CircuitInfo[] {
  if (report.circuits.length === 0) throw new NotFoundError(`${label}: the report holds no circuits`);
  if (name === null) return [...report.circuits];
  const found = report.circuits.find((c) => c.name === name);
  if (found === undefined) {
    throw new NotFoundError(`${label}: no circuit "${name}" in the report (it holds ${report.circuits.map((c) => c.name).join(', ')})`);
  }
  return [found];
}

export function deviceOf(backend: BackendName, report: BenchReport): { device: Device; note: string | null } {
  if (backend !== 'webgpu') return { device: 'cpu', note: null };
  const gpu = report.machine.gpu;
  if (gpu === null) return { device: 'cpu', note: 'no GPU adapter in the report: counted as a CPU worker' };
  if (gpu.is_software) return { device: 'cpu', note: `software adapter (${gpu.description || gpu.device || gpu.vendor}): a CPU worker` };
  return { device: 'gpu', note: null };
}

/** Median witness time of the circuit: its run's own, else any run's of the same circuit, else null. */
function witnessMedian_ms(run: ProveRun, runs: readonly ProveRun[]): number | null {
  const own = run.witness?.samples_ms ?? [];
  if (own.length > 0) return percentile(own, 50);
  for (const other of runs) {
    if (other.circuit === run.circuit && (other.witness?.samples_ms.length ?? 0) > 0) return percentile(other.witness!.samples_ms, 50);
  }
  return null;
}

export function workerKinds(report: BenchReport, circuit: CircuitInfo): CircuitKinds {
  const kinds: WorkerKind[] = [];
  const unplanned: UnplannedKind[] = [];
  const runs = report.runs.filter((r) => r.circuit === circuit.name);
  for (const run of runs) {
    if (run.status !== 'ok') {
      unplanned.push({ backend: run.backend, reason: `${run.status}${run.reason === '' ? '' : `: ${run.reason}`}` });
      continue;
    }
    const warm = run.warm?.samples_ms ?? [];
    if (warm.length === 0) {
      unplanned.push({ backend: run.backend, reason: 'no warm prove samples in the report' });
      continue;
    }
    const notes: string[] = [];
    const { device, note } = deviceOf(run.backend, report);
    if (note !== null) notes.push(note);
    const witness = witnessMedian_ms(run, runs);
    if (witness === null) notes.push('no witness time in the report: service time is the prove alone');
    if (warm.length < FEW_SAMPLES) notes.push(`only ${warm.length} warm sample${warm.length === 1 ? '' : 's'}: the p99 of one proof is the slowest of them`);
    const witness_ms = witness ?? 0;
    kinds.push({
      backend: run.backend,
      device,
      notes,
      witness_ms,
      service: serviceTime(warm.map((prove_ms) => (witness_ms + prove_ms) / 1000)),
    });
  }
  return { circuit, kinds, unplanned };
}
