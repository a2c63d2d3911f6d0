/**
 * The job state machine and the scheduler in the deterministic simulator:
 * three coordinators (Raft over a simulated network, the real
 * ExactlyOnceStateMachine(JobStateMachine) applied from committed entries,
 * a model of the leader's duties), simulated clients and workers talking to
 * them over a lossy network, and faults: coordinator crashes, pauses and
 * partitions, worker deaths, stalls and isolation, lost, duplicated and late
 * messages, an archive that goes down. Then a calm period (no faults) in
 * which every acknowledged job must reach a terminal state.
 *
 * Everything comes from one Prng seeded with the seed: the same seed and
 * steps replay the same run.
 */
import { assert, InvalidArgumentError, ZkpError } from '../../errors/index.ts';
import type { NodeId } from '../../raft/types.ts';
import { SafetyChecker, SafetyViolation } from '../checkers.ts';
import type { SimTime } from '../clock.ts';
import type { SimDiskFaults } from '../disk.ts';
import { SimNetwork } from '../network.ts';
import type { RaftTuning } from '../node.ts';
import { Prng } from '../prng.ts';
import { isTerminalState } from '../../coordinator/state/records.ts';
import { JobChecker } from './checker.ts';
import { SimClient } from './clients.ts';
import { SimCoordinator } from './coordinator.ts';
import { SimMailbox } from './mailbox.ts';
import { makeJobStateMachine, type PlantedBug } from './planted-bugs.ts';
import { SIM_TIMING } from './timing.ts';
import { SimWorker } from './workers.ts';

export interface JobSimulationOptions {
  readonly seed: number;
  /** Ticks (10 ms each) with faults and load, before the calm period. */
  readonly steps: number;
  /** A bug to plant in the state machine (to see the checkers catch it). */
  readonly bug?: PlantedBug | null;
}

export interface JobSimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly failure?: string;
  readonly failedAtTick?: number;
  readonly stats: {
    readonly ticks: number;
    readonly committed: number;
    readonly leaderChanges: number;
    readonly jobsAcknowledged: number;
    readonly jobsSucceeded: number;
    readonly jobsArchived: number;
    readonly reportsIgnored: number;
    readonly jobsRequeued: number;
    readonly coordinatorCrashes: number;
    readonly workerDeaths: number;
    readonly queueFullRefusals: number;
    readonly messagesSent: number;
    /** Entries that carried several requests (the service's batching), proposed by any leader. */
    readonly batchEntries: number;
  };
  readonly trace: readonly string[];
}

export const DEFAULT_JOB_SIM_STEPS = 600;
const CALM_TICKS = 450;
const MAX_TRACE_LINES = 2000;
const COORDINATORS: readonly NodeId[] = ['n1', 'n2', 'n3'];
/** Jobs submitted per run in all: enough to fill the small bounds below now and then. */
const JOBS_PER_RUN = 30;

export function jobSimReplayCommand(seed: number, steps: number, bug: PlantedBug | null = null): string {
  return `npm run sim:jobs -- --seed ${seed} --steps ${steps}${bug === null ? '' : ` --bug ${bug}`}`;
}

export function runJobSimulation(options: JobSimulationOptions): JobSimulationResult {
  if (!Number.isSafeInteger(options.steps) || options.steps < 1) throw new InvalidArgumentError(`steps must be a positive integer, got ${options.steps}`);
  return new JobSimulation(options).run();
}

class JobSimulation implements SimTime {
  private readonly prng: Prng;
  private readonly raftNet: SimNetwork;
  private readonly mailbox: SimMailbox;
  private readonly safety = new SafetyChecker();
  private readonly checker = new JobChecker();
  private readonly coordinators = new Map<NodeId, SimCoordinator>();
  private readonly workers: SimWorker[] = [];
  private readonly clients: SimClient[] = [];
  private readonly skew_ms = new Map<NodeId, number>();
  now_tick = 0;
  private faults = true;
  private archiveUp = true;
  private circuitsRegistered = 0;
  private jobsLeft = JOBS_PER_RUN;
  private lastLeader: NodeId | null = null;
  private readonly isolatedUntil = new Map<string, number>();
  private readonly trace: string[] = [];
  private readonly counters = { leaderChanges: 0, coordinatorCrashes: 0, workerDeaths: 0 };
  /** The coordinators' disks; the crash faults are turned off for the calm period. */
  private readonly disk: SimDiskFaults;

  constructor(private readonly options: JobSimulationOptions) {
    this.prng = new Prng(options.seed);
    const setup = this.prng.fork();
    this.raftNet = new SimNetwork(
      {
        dropProbability: setup.pick([0, 0.01, 0.05]),
        duplicateProbability: setup.pick([0, 0.02]),
        maxDelay_ticks: setup.pick([0, 1, 2]),
        maxInFlight: 20_000,
      },
      this.prng.fork(),
    );
    this.mailbox = new SimMailbox(
      { dropProbability: setup.pick([0, 0.02, 0.08]), duplicateProbability: setup.pick([0, 0.03, 0.1]), maxDelay_ticks: setup.pick([0, 1, 3]) },
      this.prng.fork(),
    );
    const tuning: RaftTuning = {
      electionTicks: 10,
      heartbeatTicks: 2,
      preVote: true,
      checkQuorum: setup.chance(0.75),
      maxSizePerMsg: setup.pick([1024, 16_384]),
      maxInflightMsgs: setup.pick([2, 8]),
    };
    const snapshotEvery_entries = setup.pick([20, 60, 200]);
    this.disk = {
      slowWriteProbability: setup.pick([0, 0.05, 0.2]),
      // Not injected here (src/sim's own simulation does): the coordinators' fail-safe stop and power cuts mid-write.
      powerCutAfterWriteProbability: 0,
      syncFailureProbability: 0,
      powerLossProbability: setup.pick([0, 0.5]),
      // Crashes right after a durable write, before anything it promises is sent (between persist and send).
      crashAfterWriteProbability: 0.0005,
      crashAfterVoteProbability: setup.pick([0, 0.05]),
    };
    const machineOptions = {
      queueMax: setup.pick([6, 12, 100]),
      finishedMax: setup.pick([5, 10, 100]),
      defaultMaxAttempts: setup.pick([1, 2, 3]),
      idempotencyKeysMax: 1000,
    };
    this.note(
      `setup checkQuorum=${tuning.checkQuorum} snapshotEvery=${snapshotEvery_entries} slowWrites=${this.disk.slowWriteProbability} ` +
        `powerLoss=${this.disk.powerLossProbability} crashAfterVote=${this.disk.crashAfterVoteProbability} queueMax=${machineOptions.queueMax} finishedMax=${machineOptions.finishedMax} ` +
        `defaultMaxAttempts=${machineOptions.defaultMaxAttempts} bug=${options.bug ?? 'none'}`,
    );
    const hooks = {
      raftSend: (message: Parameters<SimNetwork['send']>[0]) => this.raftNet.send(message, this.now_tick),
      serviceSend: (from: string, to: string, message: Parameters<SimMailbox['send']>[2]) => this.mailbox.send(from, to, message, this.now_tick),
      now_ms: (node: NodeId) => Math.max(0, this.now_tick * SIM_TIMING.tick_ms + (this.skew_ms.get(node) ?? 0)),
      time: this,
      safety: this.safety,
      checker: this.checker,
      makeMachine: () => makeJobStateMachine(machineOptions, options.bug ?? null),
      archiveUp: () => this.archiveUp,
      crashed: (node: SimCoordinator, why: string) => {
        this.note(`${why} ${node.id}`);
        this.afterCrash(node);
      },
      note: (line: string) => this.note(line),
    };
    for (const id of COORDINATORS) {
      // Clocks disagree by up to 80 ms: a new leader's clock may be behind the last one's.
      this.skew_ms.set(id, setup.range(-40, 40));
      this.coordinators.set(id, new SimCoordinator(id, COORDINATORS, { tuning, snapshotEvery_entries, disk: this.disk }, this.prng.fork(), hooks));
    }
    const workerHooks = { send: hooks.serviceSend, coordinators: COORDINATORS, note: hooks.note };
    for (let i = 1; i <= 3; i++) this.workers.push(new SimWorker(`w${i}`, setup.range(1, 2), this.prng.fork(), workerHooks));
    const clientHooks = {
      send: hooks.serviceSend,
      coordinators: COORDINATORS,
      checker: this.checker,
      takeJob: () => this.jobsLeft-- > 0,
      note: hooks.note,
    };
    for (let i = 1; i <= 3; i++) {
      this.clients.push(
        new SimClient(
          `c${i}`,
          i === 1,
          this.prng.fork(),
          clientHooks,
          () => this.circuitsRegistered >= 2,
          () => this.circuitsRegistered++,
        ),
      );
    }
  }

  run(): JobSimulationResult {
    try {
      for (; this.now_tick < this.options.steps; this.now_tick++) this.step();
      this.calmDown();
      // Once new requests have stopped, the run ends as soon as everything settled (or at the end of the calm period).
      for (let i = 0; i < CALM_TICKS; i++, this.now_tick++) {
        this.step();
        if (i > CALM_TICKS / 4 && i % 10 === 0 && this.settled()) break;
      }
      this.checkEnd();
      return this.result(true);
    } catch (error) {
      if (error instanceof SafetyViolation || error instanceof ZkpError) return this.result(false, `${error.name}: ${error.message}`);
      throw error;
    }
  }

  private step(): void {
    if (this.faults) this.injectFaults();
    // New requests stop well before the end of the calm period, so every one can be answered.
    const submitProbability = this.faults ? 0.15 : this.now_tick < this.options.steps + CALM_TICKS / 4 ? 0.3 : 0;
    for (const client of this.clients) client.step(this.now_tick, submitProbability);
    for (const worker of this.workers) worker.step(this.now_tick);
    for (const node of this.coordinators.values()) node.tick();
    // A few rounds per tick so that disk completions and zero-delay messages can chain within it.
    for (let round = 0; round < 4; round++) {
      this.runDue();
      const due = this.raftNet.takeDue(this.now_tick, (id) => this.canReceive(id));
      for (const message of due) this.coordinators.get(message.to)?.deliver(message);
    }
    this.runDue();
    for (const node of this.coordinators.values()) node.leaderDuties(this.now_tick);
    this.runDue();
    this.deliverService();
    this.runDue();
    this.checkRaft();
  }

  private canReceive(id: string): boolean {
    const node = this.coordinators.get(id);
    if (node !== undefined) return node.alive && !node.paused;
    const worker = this.workers.find((w) => w.id === id);
    if (worker !== undefined) return worker.alive && !worker.isPaused(this.now_tick);
    return true;
  }

  private deliverService(): void {
    for (const [id, until] of this.isolatedUntil) {
      if (this.now_tick < until) continue;
      this.isolatedUntil.delete(id);
      this.mailbox.heal();
      for (const other of this.isolatedUntil.keys()) this.mailbox.isolate(other);
    }
    for (const { from, to, message } of this.mailbox.takeDue(this.now_tick, (id) => this.canReceive(id))) {
      const node = this.coordinators.get(to);
      if (node !== undefined) {
        node.receive(from, message);
        continue;
      }
      const worker = this.workers.find((w) => w.id === to);
      if (worker !== undefined) {
        worker.receive(this.now_tick, from, message);
        continue;
      }
      const client = this.clients.find((c) => c.id === to);
      assert(client !== undefined, () => `message to unknown endpoint ${to}`);
      client.receive(this.now_tick, from, message);
    }
  }

  /** Runs what came due on each coordinator's process: disk completions (which go on with its Ready loop), timers. */
  private runDue(): void {
    for (const node of this.coordinators.values()) node.runDue();
  }

  private checkRaft(): void {
    for (const node of this.coordinators.values()) {
      const core = node.core;
      if (core === null) continue;
      const status = core.status();
      this.safety.onStatus(
        status,
        node.incarnation,
        core.log.firstIndex(),
        (index) => core.log.term(index),
        (lo, hi) => core.log.entries(lo, hi),
      );
      if (status.role === 'leader' && this.lastLeader !== node.id) {
        this.lastLeader = node.id;
        this.counters.leaderChanges++;
      }
    }
  }

  // ---------------------------------------------------------------- faults

  private injectFaults(): void {
    const p = this.prng;
    const live = [...this.coordinators.values()].filter((node) => node.alive);
    if (p.chance(0.004) && live.length === 3) {
      const victim = p.pick(live);
      victim.crash();
      this.afterCrash(victim);
    }
    if (p.chance(0.004) && live.length === 3) {
      const leader = live.find((node) => node.core?.status().role === 'leader');
      if (leader !== undefined) {
        leader.crash();
        this.afterCrash(leader);
      }
    }
    if (p.chance(0.02)) {
      const dead = [...this.coordinators.values()].filter((node) => !node.alive);
      if (dead.length > 0) {
        const node = p.pick(dead);
        node.start();
        this.note(`restart ${node.id}`);
      }
    }
    if (p.chance(0.003)) {
      const node = p.pick([...this.coordinators.values()]);
      node.paused = true;
      this.note(`pause ${node.id}`);
    }
    if (p.chance(0.03)) for (const node of this.coordinators.values()) node.paused = false;
    if (p.chance(0.005)) {
      const ids = p.shuffle([...COORDINATORS]);
      this.raftNet.partition([ids.slice(0, 1), ids.slice(1)]);
      this.note(`partition ${this.raftNet.describePartition()}`);
    }
    if (p.chance(0.012) && this.raftNet.describePartition() !== '') {
      this.raftNet.heal();
      this.note('heal raft network');
    }
    // Workers.
    if (p.chance(0.004)) {
      const worker = p.pick(this.workers);
      if (worker.alive) {
        worker.crash();
        this.mailbox.dropTo(worker.id);
        this.counters.workerDeaths++;
        this.note(`worker ${worker.id} dies`);
      }
    }
    if (p.chance(0.01)) {
      const dead = this.workers.filter((w) => !w.alive);
      if (dead.length > 0) {
        const worker = p.pick(dead);
        worker.restart(this.now_tick);
        this.note(`worker ${worker.id} restarts`);
      }
    }
    if (p.chance(0.004)) {
      const worker = p.pick(this.workers);
      worker.paused_until_tick = this.now_tick + p.range(10, 80);
      this.note(`worker ${worker.id} stalls until t=${worker.paused_until_tick}`);
    }
    if (p.chance(0.004)) {
      const worker = p.pick(this.workers);
      this.isolatedUntil.set(worker.id, this.now_tick + p.range(10, 80));
      this.mailbox.isolate(worker.id);
      this.note(`worker ${worker.id} cut off until t=${this.isolatedUntil.get(worker.id)}`);
    }
    if (p.chance(0.005)) {
      this.archiveUp = !this.archiveUp;
      this.note(`archive ${this.archiveUp ? 'back' : 'down'}`);
    }
  }

  private afterCrash(node: SimCoordinator): void {
    this.counters.coordinatorCrashes++;
    this.raftNet.dropTo(node.id);
    this.mailbox.dropTo(node.id);
    this.note(`crash ${node.id}`);
  }

  private calmDown(): void {
    this.faults = false;
    this.archiveUp = true;
    this.raftNet.calm();
    this.disk.crashAfterWriteProbability = 0;
    this.disk.crashAfterVoteProbability = 0;
    this.mailbox.calm();
    this.isolatedUntil.clear();
    for (const node of this.coordinators.values()) {
      node.paused = false;
      if (!node.alive) node.start();
    }
    for (const worker of this.workers) {
      worker.paused_until_tick = 0;
      if (!worker.alive) worker.restart(this.now_tick);
    }
    this.note('calm: healed, restarted, unpaused');
  }

  /** Every request answered and every acknowledged job finished, as the serving leader sees it. */
  private settled(): boolean {
    const leader = [...this.coordinators.values()].find((node) => node.servingAsLeader);
    if (leader === undefined || this.clients.some((client) => !client.idle)) return false;
    for (const jobId of this.checker.acknowledged.values()) {
      const job = leader.machine.job(jobId);
      if (job !== undefined && !isTerminalState(job.state)) return false;
    }
    return true;
  }

  private checkEnd(): void {
    const leader = [...this.coordinators.values()].find((node) => node.servingAsLeader);
    if (leader === undefined) throw new SafetyViolation('liveness', `no serving leader after ${CALM_TICKS} calm ticks`);
    for (const client of this.clients) {
      const outstanding = client.describeOutstanding();
      if (outstanding !== null) throw new SafetyViolation('liveness', `request unanswered after the calm period: ${outstanding}`);
    }
    this.checker.checkEnd((jobId) => leader.machine.job(jobId));
    if (this.checker.acknowledged.size === 0) throw new SafetyViolation('liveness', 'no job was ever acknowledged (the run tested nothing)');
  }

  private note(line: string): void {
    if (this.trace.length < MAX_TRACE_LINES) this.trace.push(`t=${this.now_tick} ${line}`);
  }

  private result(ok: boolean, failure?: string): JobSimulationResult {
    return {
      seed: this.options.seed,
      ok,
      ...(failure !== undefined ? { failure, failedAtTick: this.now_tick } : {}),
      stats: {
        ticks: this.now_tick,
        committed: this.safety.maxCommitted,
        leaderChanges: this.counters.leaderChanges,
        jobsAcknowledged: this.checker.acknowledged.size,
        jobsSucceeded: this.checker.successes,
        jobsArchived: this.checker.archived.size,
        reportsIgnored: this.checker.ignoredReports,
        jobsRequeued: this.checker.requeued,
        coordinatorCrashes: this.counters.coordinatorCrashes,
        workerDeaths: this.counters.workerDeaths,
        queueFullRefusals: this.clients.reduce((sum, c) => sum + c.refusedFull, 0),
        messagesSent: this.mailbox.sent + this.raftNet.sent,
        batchEntries: [...this.coordinators.values()].reduce((sum, c) => sum + c.batchesProposed, 0),
      },
      trace: this.trace,
    };
  }
}
