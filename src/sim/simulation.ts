import { assert, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import type { ConfChange, Message, NodeId } from '../raft/types.ts';
import { SafetyChecker, SafetyViolation } from './checkers.ts';
import { DurabilityChecker } from './durability.ts';
import { SimClients } from './clients.ts';
import { checkRegisterHistory, type RegisterOp } from './linearizability.ts';
import { SimNetwork } from './network.ts';
import { SIM_TICK_MS } from './clock.ts';
import type { SimDiskFaults } from './disk.ts';
import { SimNode, type RaftTuning, type SimNodeSettings } from './node.ts';
import { ExactlyOnceChecker, type SessionBug } from './sessions.ts';
import { Prng } from '../random/prng.ts';
import { encodeSessionCommand } from '../raft/sessions/envelope.ts';

export interface SimulationOptions {
  readonly seed: number;
  /** Ticks of faults and client load, followed by a calm period to check liveness. */
  readonly steps: number;
  /** A session bug to plant (sessions.ts), to see the checkers catch it. */
  readonly bug?: SessionBug | null;
}

export interface SimulationResult {
  readonly seed: number;
  readonly ok: boolean;
  /** What failed: the property or error, with evidence. */
  readonly failure?: string;
  readonly failedAtTick?: number;
  readonly stats: {
    readonly ticks: number;
    readonly leaderChanges: number;
    readonly committed: number;
    readonly clientOpsCompleted: number;
    readonly clientOpsTimedOut: number;
    readonly crashes: number;
    readonly partitions: number;
    readonly confChanges: number;
    readonly transfers: number;
    readonly snapshotsSent: number;
    readonly messagesSent: number;
    readonly linearizabilityInconclusive: boolean;
    /** Votes (granted, or a candidate's own) the vote checks saw. */
    readonly votesChecked: number;
    /** Puts acknowledged to clients, each checked for durability. */
    readonly acknowledgedPuts: number;
    /** Power losses, and writes they tore; restarts whose recovery dropped a torn last record. */
    readonly powerLosses: number;
    readonly tornWrites: number;
    readonly tornTailsRecovered: number;
    /** Stops on a failed fdatasync; closed segments corrupted, and starts refused on finding it. */
    readonly syncFailureStops: number;
    /** Stops on a full disk (ENOSPC), and starts that found no space to write. */
    readonly diskFullStops: number;
    readonly corruptions: number;
    readonly refusedStarts: number;
    /** Put attempts after the first (same session seq), and puts answered from the session table. */
    readonly putRetries: number;
    readonly duplicateAnswers: number;
    /** Leaders cut off right after answering a put; of those, heals when a later leader's snapshot ended inside the cut-off one's uncommitted tail; gets sent to a new leader as soon as it was seen. */
    readonly staleLeaders: number;
    readonly staleTailHeals: number;
    readonly newLeaderReads: number;
  };
  /** The clients' history, as the linearizability checker saw it. */
  readonly history: readonly RegisterOp[];
  /** The fault schedule, one line per event, for reading a failure. */
  readonly trace: readonly string[];
}

const ALL_NODES: readonly NodeId[] = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CALM_TICKS = 300;
/** After the calm period, a follower catching up may take this many more ticks while it gains (awaitLiveness). */
const CATCH_UP_TICKS_MAX = 1500;
const CATCH_UP_STALL_TICKS = 100;
const MAX_TRACE_LINES = 2000;
/** A leader cut off right after answering a put stays cut off this long at most, waiting for the corner below (aimStaleLeader). */
const STALE_LEADER_TICKS_MAX = 250;
/** Entries proposed on such a leader while it still leads (one a tick): its uncommitted tail. */
const STALE_TAIL_ENTRIES_MAX = 40;
/** What those entries carry: a session command of a client no node knows, answered 'unknown-client' and applied to nothing. */
const STALE_TAIL_COMMAND = encodeSessionCommand({ clientId: 'sim-stale-tail', seq: 1, ackedBelow: 1 }, new TextEncoder().encode('stale tail'));

export function replayCommand(seed: number, steps: number, bug: SessionBug | null = null): string {
  return `npm run sim -- --seed ${seed} --steps ${steps}${bug === null ? '' : ` --bug ${bug}`}`;
}

/**
 * One deterministic run: everything (timing, faults, client load, Raft's own
 * randomness) comes from one Prng seeded with `seed`, so the same seed and
 * steps replay the same run exactly.
 */
export function runSimulation(options: SimulationOptions): SimulationResult {
  if (!Number.isSafeInteger(options.steps) || options.steps < 1) throw new InvalidArgumentError(`steps must be a positive integer, got ${options.steps}`);
  // Clients meet NotLeaderError thousands of times a run, and capturing each
  // one's stack took about 15% of the CPU; failures are reported by message.
  // ZKP_SIM_STACKS=1 keeps stacks (to debug an unexpected exception).
  const stackTraceLimit = Error.stackTraceLimit;
  if (process.env.ZKP_SIM_STACKS === undefined) Error.stackTraceLimit = 0;
  try {
    return new Simulation(options).run();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

class Simulation {
  private readonly prng: Prng;
  private readonly network: SimNetwork;
  private readonly checker = new SafetyChecker();
  private readonly durability = new DurabilityChecker();
  /** "node:term" leaders already checked for the acknowledged writes. */
  private readonly leadersChecked = new Set<string>();
  private readonly clients: SimClients;
  private readonly nodes = new Map<NodeId, SimNode>();
  now_tick = 0;
  private readonly trace: string[] = [];
  private faultsEnabled = true;
  private lastLeader: NodeId | null = null;
  private readonly counters = { leaderChanges: 0, crashes: 0, partitions: 0, confChanges: 0, transfers: 0, snapshotsSent: 0, corruptions: 0, refusedStarts: 0 };
  private readonly tuning: RaftTuning;
  /** A node's Ready loop stopped on an error that is not a simulated crash: the run fails with it. */
  private nodeFailure: Error | null = null;
  /** Shared by every node's disk; the calm period turns its crashes off. */
  private readonly diskFaults: SimDiskFaults;
  /** Chance that a node that grants a vote dies right after sending it (aimed at the window between a vote and its persistence). */
  private readonly crashAfterGrantProbability: number;
  /** A safety violation found while a node was sending (inside its Ready loop); thrown at the end of the step. */
  private sendViolation: SafetyViolation | null = null;
  /** Vote requests delivered to each node, the latest few: delivered again after it restarts (a network may hold copies that long). */
  private readonly voteRequestsSeen = new Map<NodeId, Message[]>();
  /** Ticks per simulated tick, per node (clocks that run at different rates). */
  private readonly tickRate: Map<NodeId, number>; // all 1 in the calm period
  private readonly tickCredit = new Map<NodeId, number>();
  /** Ticks a paused node missed: delivered in a burst when it resumes (a long GC pause), half the time. */
  private readonly missedTicks = new Map<NodeId, number>();
  private readonly corruptionProbability: number;
  /** The one node given a latently corrupt closed segment, and the file. */
  private corrupted: { readonly node: NodeId; readonly file: string } | null = null;
  /** Nodes to restart soon after a crash aimed at a vote, by tick. */
  private readonly restartAt = new Map<NodeId, number>();
  /** Chance, per put a leader answers, that it is cut off from the others right then (with one follower, half the time, when it has 4 voters or more). */
  private readonly isolateAfterAckProbability: number;
  /** Randomness of the faults aimed at the corners below, apart from the older draws. */
  private readonly aimPrng: Prng;
  /**
   * A leader cut off right after it answered a put (isolateAfterAck): the
   * others elect a leader that may not know that commit yet (its ReadIndex
   * must wait for its first commit in its term), and the old one grows an
   * uncommitted tail; the network heals when the new leader's snapshot ends
   * inside that tail, so the snapshot it sends there must drop the tail.
   */
  private stale: { readonly node: NodeId; readonly term: number; readonly until_tick: number; tail: number } | null = null;
  private staleLeaders = 0;
  private staleTailHeals = 0;

  constructor(private readonly options: SimulationOptions) {
    this.prng = new Prng(options.seed);
    const setup = this.prng.fork();
    this.network = new SimNetwork(
      {
        dropProbability: setup.pick([0, 0.01, 0.05, 0.15]),
        duplicateProbability: setup.pick([0, 0.02, 0.1]),
        maxDelay_ticks: setup.pick([0, 1, 2, 4]),
        maxInFlight: 20_000,
      },
      this.prng.fork(),
    );
    const tuning: RaftTuning = {
      electionTicks: 10,
      heartbeatTicks: setup.pick([1, 2, 3]),
      preVote: setup.chance(0.75),
      checkQuorum: setup.chance(0.75),
      maxSizePerMsg: setup.pick([64, 256, 4096]),
      maxInflightMsgs: setup.pick([1, 2, 8]),
    };
    this.tuning = tuning;
    this.diskFaults = {
      slowWriteProbability: setup.pick([0, 0.05, 0.3]),
      powerLossProbability: setup.pick([0, 0.5, 1]),
      powerCutAfterWriteProbability: setup.pick([0, 0.01, 0.05]),
      syncFailureProbability: setup.pick([0, 0, 0.002]),
      crashAfterWriteProbability: setup.pick([0, 0.002]),
      crashAfterVoteProbability: setup.pick([0, 0.05, 0.25]),
      diskFullProbability: 0, // drawn below, after the draws older seeds were recorded with
    };
    this.crashAfterGrantProbability = setup.pick([0, 0.05, 0.25]);
    // A third of the seeds give one node a slow disk (writes and syncs of up to 0.5-3 s).
    const slowDiskNode = setup.chance(0.33) ? setup.pick(ALL_NODES) : null;
    const slowDisk_ticks = setup.pick([50, 150, 300]);
    // Half the seeds run the nodes' clocks at different rates (ticks per simulated tick).
    const rates = setup.chance(0.5) ? ALL_NODES.map(() => setup.pick([0.5, 1, 1, 1.5])) : ALL_NODES.map(() => 1);
    this.tickRate = new Map(ALL_NODES.map((id, i) => [id, rates[i]!]));
    this.corruptionProbability = setup.pick([0, 0.002, 0.01]);
    const settings: SimNodeSettings = {
      // A slow sync ends by the calm period at the latest: the liveness check
      // gives the cluster CALM_TICKS without faults, which one sync of up to
      // 300 ticks begun just before could take whole (seed 1196: a follower
      // whose write, begun at t=1450, completed at t=1720, could not catch up).
      slowDisk_ticks_max: (node) =>
        node === slowDiskNode && this.faultsEnabled ? Math.min(slowDisk_ticks, Math.max(1, this.options.steps - this.now_tick)) : 0,
      tuning,
      snapshotEvery_entries: setup.pick([8, 25, 100]),
      proposalTimeout_ms: 50 * SIM_TICK_MS,
      readTimeout_ms: 50 * SIM_TICK_MS,
      disk: this.diskFaults,
      sessions: { checker: new ExactlyOnceChecker(), bug: options.bug ?? null },
    };
    this.note(
      `setup preVote=${tuning.preVote} checkQuorum=${tuning.checkQuorum} heartbeat=${tuning.heartbeatTicks} maxSizePerMsg=${tuning.maxSizePerMsg} inflight=${tuning.maxInflightMsgs} snapshotEvery=${settings.snapshotEvery_entries} slowWrites=${settings.disk.slowWriteProbability} crashAfterVotePersisted=${settings.disk.crashAfterVoteProbability} crashAfterVoteSent=${this.crashAfterGrantProbability} powerLoss=${settings.disk.powerLossProbability} syncFailure=${settings.disk.syncFailureProbability} slowDisk=${slowDiskNode ?? 'none'}/${slowDisk_ticks} tickRates=${rates.join(',')} corruption=${this.corruptionProbability}`,
    );
    const hooks = {
      send: (message: Message, from: SimNode) => {
        if (message.type === 'snapshot') this.counters.snapshotsSent++;
        try {
          this.checker.onSend(message, from.incarnation, from.storage.hardState());
        } catch (error) {
          if (!(error instanceof SafetyViolation)) throw error;
          this.sendViolation ??= error;
        }
        if (message.type === 'vote-resp' && message.reject !== true && this.faultsEnabled && this.prng.chance(this.crashAfterGrantProbability)) {
          from.crashAtEndOfTurn(`crash right after granting its vote to ${message.to} in term ${message.term}:`);
          this.restartAt.set(from.id, this.now_tick + this.prng.range(1, 5));
        }
        this.network.send(message, this.now_tick);
      },
      crashed: (node: SimNode, why: string) => {
        this.afterCrash(node, why);
        // Back soon, often: a quick restart meets the messages of the moment it died (vote requests of the same term).
        if (this.faultsEnabled && this.prng.chance(0.5)) this.restartAt.set(node.id, this.now_tick + this.prng.range(1, 5));
      },
      failed: (node: SimNode, error: Error) => {
        this.nodeFailure ??= error instanceof SafetyViolation ? error : new SafetyViolation('node failure', `${node.id}: ${error.name}: ${error.message}`);
      },
      note: (line: string) => this.note(line),
    };
    // Half the seeds start with five voters (where Figure 8 histories can happen), half with three and two spares.
    const initialVoters = setup.chance(0.5) ? ALL_NODES : ALL_NODES.slice(0, 3);
    this.note(`voters ${initialVoters.join(',')}`);
    // A full disk (ENOSPC) on some node, per node and tick.
    this.diskFaults.diskFullProbability = setup.pick([0, 0, 0.0005, 0.002]);
    this.note(`diskFull=${this.diskFaults.diskFullProbability}`);
    this.isolateAfterAckProbability = setup.pick([0, 0.01, 0.03]);
    this.aimPrng = setup.fork();
    this.note(`isolateAfterAck=${this.isolateAfterAckProbability}`);
    for (const id of ALL_NODES) {
      const bootstrap = initialVoters.includes(id) ? initialVoters : [];
      this.nodes.set(id, new SimNode(id, bootstrap, settings, this, this.prng.fork(), this.checker, hooks));
    }
    this.clients = new SimClients(['c1', 'c2', 'c3'], ['x', 'y'], this.prng.fork(), 60, this.durability);
    this.clients.onPutAcknowledged = (node) => this.isolateAfterAck(node);
  }

  run(): SimulationResult {
    try {
      for (; this.now_tick < this.options.steps; this.now_tick++) this.step();
      this.calmDown();
      for (let i = 0; i < CALM_TICKS; i++, this.now_tick++) this.step();
      // Without pre-vote or check-quorum, a removed server that never learned of
      // its removal may disrupt elections forever (Raft thesis §4.2.3): expected.
      if (this.tuning.preVote || this.tuning.checkQuorum) this.awaitLiveness();
      this.clients.finish();
      const linear = checkRegisterHistory(this.clients.history);
      if (!linear.ok)
        throw new SafetyViolation(
          'linearizability',
          `the client history of key ${linear.failingKey ?? '?'} has no linearization (${this.clients.history.length} operations)`,
        );
      return this.result(true, undefined, linear.inconclusive);
    } catch (error) {
      if (error instanceof SafetyViolation || error instanceof ZkpError) return this.result(false, `${error.name}: ${error.message}`, false);
      throw error;
    }
  }

  private step(): void {
    if (this.faultsEnabled) this.injectFaults();
    this.clients.step(this.now_tick, this.nodes, this.faultsEnabled ? 0.3 : 0);
    for (const node of this.nodes.values()) {
      if (node.paused) {
        this.missedTicks.set(node.id, (this.missedTicks.get(node.id) ?? 0) + 1);
        continue;
      }
      let credit = (this.tickCredit.get(node.id) ?? 0) + this.tickRate.get(node.id)!;
      for (; credit >= 1; credit--) node.tick();
      this.tickCredit.set(node.id, credit);
    }
    // A few rounds per tick so that disk completions and zero-delay messages can chain within it.
    for (let round = 0; round < 4; round++) {
      for (const node of this.nodes.values()) node.runDue();
      const due = this.network.takeDue(this.now_tick, (id) => {
        const node = this.nodes.get(id);
        return node !== undefined && !node.paused;
      });
      for (const message of due) {
        const node = this.nodes.get(message.to);
        assert(node !== undefined, () => `message to unknown node ${message.to}`);
        if (message.type === 'vote' && node.alive) this.rememberVoteRequest(message);
        node.deliver(message);
      }
    }
    for (const node of this.nodes.values()) node.runDue();
    if (this.sendViolation !== null) throw this.sendViolation;
    if (this.nodeFailure !== null) throw this.nodeFailure;
    this.checkSafety();
  }

  private checkSafety(): void {
    for (const node of this.nodes.values()) {
      const core = node.core;
      if (core === null) continue;
      const status = core.status();
      this.checker.onStatus(
        status,
        node.incarnation,
        core.log.firstIndex(),
        (index) => core.log.term(index),
        (lo, hi) => core.log.entries(lo, hi),
      );
      if (status.role === 'leader' && !this.leadersChecked.has(`${node.id}:${status.term}`)) {
        this.leadersChecked.add(`${node.id}:${status.term}`);
        this.durability.onLeader(node.id, status.term, core.log.firstIndex(), (index) => core.log.term(index));
      }
      this.durability.onStateMachine(node.id, node.appliedIndex, (key) => node.kv.register(key));
      if (status.role === 'leader' && this.lastLeader !== node.id) {
        this.lastLeader = node.id;
        this.counters.leaderChanges++;
        this.note(`leader ${node.id} term ${status.term}`);
        if (this.faultsEnabled) this.clients.readAtNewLeader(node, this.nodes);
      }
    }
  }

  // ---------------------------------------------------------------- faults

  private injectFaults(): void {
    const p = this.prng;
    this.restartDue();
    this.aimStaleLeader();
    if (p.chance(0.004)) this.crashSomeone();
    if (p.chance(0.003)) this.crashLeader();
    if (p.chance(0.02)) this.restartSomeone();
    if (p.chance(0.003)) this.pauseSomeone();
    if (p.chance(0.03)) this.unpauseEveryone();
    if (p.chance(0.006)) this.partitionSomehow();
    if (p.chance(0.012)) this.healNetwork();
    if (p.chance(0.006)) this.changeMembership();
    if (p.chance(0.004)) this.transferLeadership();
    if (p.chance(this.corruptionProbability)) this.corruptSomeone();
  }

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.core !== null);
  }

  private leader(): SimNode | undefined {
    return this.liveNodes().find((node) => !node.paused && node.core?.status().role === 'leader');
  }

  private crashSomeone(): void {
    const live = this.liveNodes();
    if (live.length <= 3) return; // keep enough running that progress is possible most of the time
    const victim = this.prng.pick(live);
    victim.crash();
    this.afterCrash(victim, 'crash');
  }

  /** Leaders dying soon after replicating to a few nodes is what Figure 8 is about. */
  private crashLeader(): void {
    const leader = this.leader();
    if (leader === undefined || this.liveNodes().length <= 3) return;
    leader.crash();
    this.afterCrash(leader, 'crash leader');
  }

  private afterCrash(node: SimNode, why: string): void {
    this.counters.crashes++;
    this.network.dropTo(node.id);
    this.note(`${why} ${node.id}`);
  }

  /** Starts a node; false when it refused (a log it cannot read), which it says, and then stays down. */
  private start(node: SimNode): boolean {
    node.start();
    if (!node.alive && node.refusedToStart === null) return false; // no space to start (it said so): tried again later
    if (node.refusedToStart === null) {
      const corrupted = this.corrupted;
      if (corrupted !== null && corrupted.node === node.id && node.storage.segmentFiles().includes(corrupted.file)) {
        throw new SafetyViolation('latent corruption', `${node.id} started with ${corrupted.file} in its log, which has a corrupt byte`);
      }
      return true;
    }
    this.counters.refusedStarts++;
    this.note(`${node.id} refuses to start: ${node.refusedToStart}`);
    return false;
  }

  private restartSomeone(): void {
    const dead = [...this.nodes.values()].filter((node) => node.core === null && node.refusedToStart === null);
    if (dead.length === 0) return;
    this.restart(this.prng.pick(dead));
  }

  private restartDue(): void {
    for (const [id, at_tick] of this.restartAt) {
      if (at_tick > this.now_tick) continue;
      this.restartAt.delete(id);
      const node = this.nodes.get(id)!;
      if (!node.alive && node.refusedToStart === null) this.restart(node);
    }
  }

  /**
   * Restarts a node; half the time the vote requests it saw before are
   * delivered to it again (copies the network still held): a node that
   * forgot a vote would grant a second candidate of the same term.
   */
  private restart(node: SimNode): void {
    if (!this.start(node)) return;
    this.note(`restart ${node.id}`);
    const seen = this.voteRequestsSeen.get(node.id);
    if (seen === undefined || seen.length === 0 || !this.prng.chance(0.5)) return;
    for (const request of this.prng.shuffle([...seen])) this.network.redeliver(request, this.now_tick + this.prng.range(0, 2));
    this.note(`vote requests delivered again to ${node.id}: ${seen.map((m) => `${m.from}@${m.term}`).join(' ')}`);
  }

  private rememberVoteRequest(message: Message): void {
    const seen = this.voteRequestsSeen.get(message.to) ?? [];
    seen.push(message);
    if (seen.length > 6) seen.shift();
    this.voteRequestsSeen.set(message.to, seen);
  }

  private pauseSomeone(): void {
    const live = this.liveNodes();
    if (live.length === 0) return;
    const node = this.prng.pick(live);
    node.paused = true;
    this.note(`pause ${node.id}`);
  }

  private unpauseEveryone(): void {
    for (const node of this.nodes.values()) {
      if (!node.paused) continue;
      node.paused = false;
      const missed = this.missedTicks.get(node.id) ?? 0;
      this.missedTicks.delete(node.id);
      if (missed === 0 || !this.prng.chance(0.5)) continue;
      // The ticks it missed arrive at once, as after a long GC pause.
      this.note(`resume ${node.id} with a burst of ${missed} ticks`);
      for (let i = 0; i < missed; i++) node.tick();
    }
  }

  /**
   * Latent corruption: one byte of a closed segment of one running node
   * flips on the platter. Its next recovery must find it (CRC) and refuse
   * to start, saying so; half the time the node crashes soon, to get there.
   */
  private corruptSomeone(): void {
    if (this.corrupted !== null) return;
    const live = this.liveNodes();
    if (live.length === 0) return;
    const node = this.prng.pick(live);
    const files = node.storage.segmentFiles();
    if (files.length < 2) return;
    const index = this.prng.int(files.length - 1);
    const file = files[index]!;
    const at = node.fs.corrupt(file, 0, node.storage.segmentDataBytes()[index]!);
    if (at === null) return;
    this.corrupted = { node: node.id, file };
    this.counters.corruptions++;
    this.note(`latent corruption ${node.id} ${file} byte ${at}`);
    if (this.prng.chance(0.5)) {
      node.crash();
      this.afterCrash(node, 'crash after corruption');
      this.restartAt.set(node.id, this.now_tick + this.prng.range(1, 5));
    }
  }

  private partitionSomehow(): void {
    if (this.stale !== null) return; // aimStaleLeader heals it
    this.counters.partitions++;
    const ids = this.prng.shuffle([...this.nodes.keys()]);
    const kind = this.prng.int(3);
    if (kind === 0) {
      const cut = this.prng.range(1, ids.length - 1);
      this.network.partition([ids.slice(0, cut), ids.slice(cut)]);
    } else if (kind === 1) {
      // Asymmetric: one direction of one link.
      this.network.block(ids[0]!, ids[1]!);
    } else {
      const leader = this.leader();
      if (leader !== undefined) this.network.partition([[leader.id], ids.filter((id) => id !== leader.id)]);
    }
    this.note(`partition ${this.network.describePartition()}`);
  }

  private healNetwork(): void {
    if (this.stale !== null || this.network.describePartition() === '') return;
    this.network.heal();
    this.note('heal');
  }

  /** A leader answered a put: maybe cut it off now, before any message carries that commit (isolateAfterAckProbability). */
  private isolateAfterAck(node: SimNode): void {
    if (!this.faultsEnabled || this.stale !== null || this.isolateAfterAckProbability === 0) return;
    if (!this.aimPrng.chance(this.isolateAfterAckProbability)) return;
    const status = node.core?.status();
    if (status === undefined || status.role !== 'leader') return;
    const followers = status.conf.voters.filter((id) => id !== node.id);
    const side = [node.id];
    if (status.conf.voters.length >= 4 && this.aimPrng.chance(0.5)) side.push(this.aimPrng.pick(followers));
    this.network.partition([side, [...this.nodes.keys()].filter((id) => !side.includes(id))]);
    this.stale = { node: node.id, term: status.term, until_tick: this.now_tick + STALE_LEADER_TICKS_MAX, tail: 0 };
    this.counters.partitions++;
    this.staleLeaders++;
    this.note(`partition right after ${node.id} answered a put: ${this.network.describePartition()}`);
  }

  /**
   * While a leader cut off by isolateAfterAck still leads, it takes one
   * entry a tick (its uncommitted tail); the network heals once a later
   * leader's snapshot ends inside that tail (after its commit, before its
   * last entry, with another term there), or after STALE_LEADER_TICKS_MAX.
   */
  private aimStaleLeader(): void {
    const stale = this.stale;
    if (stale === null) return;
    const old = this.nodes.get(stale.node)!;
    const oldCore = old.core;
    let heal = this.now_tick >= stale.until_tick ? 'the stale leader aim expired' : null;
    if (heal === null && oldCore !== null) {
      const status = oldCore.status();
      if (status.role === 'leader' && status.term === stale.term && stale.tail < STALE_TAIL_ENTRIES_MAX && !old.paused) {
        stale.tail++;
        old.turn((loop) =>
          loop.propose(
            STALE_TAIL_COMMAND,
            () => {},
            () => {},
          ),
        );
      }
      const leader = this.leader();
      const leaderCore = leader?.core;
      if (leader !== undefined && leaderCore !== null && leaderCore !== undefined && leader.id !== stale.node && leaderCore.status().term > stale.term) {
        const { index, term } = leader.storage.snapshot().metadata;
        if (index > status.commit && index < oldCore.log.lastIndex() && oldCore.log.term(index) !== term) {
          this.staleTailHeals++;
          heal = `${leader.id}'s snapshot at ${index} ends inside ${stale.node}'s uncommitted tail (commit ${status.commit}, last ${oldCore.log.lastIndex()})`;
        }
      }
    }
    if (heal === null) return;
    this.stale = null;
    this.network.heal();
    this.note(`heal: ${heal}`);
  }

  private changeMembership(): void {
    const leader = this.leader();
    const core = leader?.core;
    if (leader === undefined || core === null || core === undefined) return;
    const { voters, learners } = core.status().conf;
    const members = [...voters, ...learners];
    const outsiders = [...this.nodes.keys()].filter((id) => !members.includes(id));
    const options: ConfChange[] = [];
    for (const id of outsiders) options.push({ type: 'add-voter', nodeId: id }, { type: 'add-learner', nodeId: id });
    for (const id of learners) options.push({ type: 'add-voter', nodeId: id });
    if (voters.length > 3) for (const id of voters) options.push({ type: 'remove-node', nodeId: id });
    for (const id of learners) options.push({ type: 'remove-node', nodeId: id });
    if (options.length === 0) return;
    const change = this.prng.pick(options);
    leader.turn((loop) => {
      const refused = (error: Error): void => {
        if (!(error instanceof ZkpError) || (error.code !== 'INVALID_ARGUMENT' && error.code !== 'NOT_LEADER' && error.code !== 'UNAVAILABLE')) throw error;
      };
      const at = loop.proposeConfChange(change, () => {}, refused);
      if (at === null) return;
      this.counters.confChanges++;
      this.note(`conf change ${change.type} ${change.nodeId} proposed by ${leader.id} at ${at}`);
    });
  }

  private transferLeadership(): void {
    const leader = this.leader();
    const core = leader?.core;
    if (leader === undefined || core === null || core === undefined) return;
    const targets = core.status().conf.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const target = this.prng.pick(targets);
    leader.turn((loop) => {
      try {
        loop.transferLeadership(target);
        this.counters.transfers++;
        this.note(`transfer ${leader.id} -> ${target}`);
      } catch (error) {
        if (!(error instanceof ZkpError) || error.code !== 'NOT_LEADER') throw error;
      }
    });
  }

  // ---------------------------------------------------------------- end of run

  private calmDown(): void {
    this.faultsEnabled = false;
    this.stale = null;
    this.diskFaults.crashAfterWriteProbability = 0;
    this.diskFaults.crashAfterVoteProbability = 0;
    this.diskFaults.powerCutAfterWriteProbability = 0;
    this.diskFaults.syncFailureProbability = 0;
    this.diskFaults.diskFullProbability = 0;
    this.network.calm();
    this.restartAt.clear();
    this.missedTicks.clear();
    for (const id of this.tickRate.keys()) this.tickRate.set(id, 1);
    for (const node of this.nodes.values()) {
      node.paused = false;
      if (node.core === null && node.refusedToStart === null) this.start(node);
    }
    this.note('calm: healed, restarted, unpaused');
  }

  /**
   * After the calm period every voter follows one leader at its commit index.
   * A follower still catching up then gets more calm ticks for as long as the
   * lowest commit index among the voters keeps rising (every
   * CATCH_UP_STALL_TICKS at least, CATCH_UP_TICKS_MAX in all): with one
   * 64-byte entry per append, one append in flight and 4-tick delays, a
   * follower 100 entries behind needs about 500 ticks (seed 1196). A cluster
   * without a leader, or one whose laggard stops gaining, fails.
   */
  private awaitLiveness(): void {
    let lowest = this.lowestVoterCommit();
    let gained_tick = this.now_tick;
    for (let extra = 0; ; extra++, this.now_tick++) {
      try {
        this.checkLiveness();
        return;
      } catch (error) {
        if (!(error instanceof SafetyViolation) || this.leader() === undefined) throw error;
        if (extra >= CATCH_UP_TICKS_MAX || this.now_tick - gained_tick >= CATCH_UP_STALL_TICKS) throw error;
      }
      this.step();
      const now = this.lowestVoterCommit();
      if (now > lowest) {
        lowest = now;
        gained_tick = this.now_tick;
      }
    }
  }

  /** The lowest commit index among the running voters of the leader's configuration (0 without a leader). */
  private lowestVoterCommit(): number {
    const leader = this.leader()?.core?.status();
    if (leader === undefined) return 0;
    let lowest = leader.commit;
    for (const id of leader.conf.voters) {
      const follower = this.nodes.get(id)?.core?.status();
      if (follower !== undefined) lowest = Math.min(lowest, follower.commit);
    }
    return lowest;
  }

  /** Every current voter agrees on one leader and has caught up on its commit. */
  private checkLiveness(): void {
    const leader = this.leader();
    if (leader === undefined || leader.core === null) throw new SafetyViolation('liveness', `no leader after ${CALM_TICKS} calm ticks`);
    const status = leader.core.status();
    for (const id of status.conf.voters) {
      const follower = this.nodes.get(id)?.core?.status();
      if (follower === undefined) continue;
      if (follower.leaderId !== leader.id || follower.commit !== status.commit) {
        throw new SafetyViolation(
          'liveness',
          `after ${this.now_tick - this.options.steps} calm ticks ${id} follows ${String(follower.leaderId)} at commit ${follower.commit}; leader ${leader.id} is at ${status.commit}`,
        );
      }
    }
  }

  private sum(count: (node: SimNode) => number): number {
    let total = 0;
    for (const node of this.nodes.values()) total += count(node);
    return total;
  }

  private note(line: string): void {
    if (this.trace.length < MAX_TRACE_LINES) this.trace.push(`t=${this.now_tick} ${line}`);
  }

  private result(ok: boolean, failure: string | undefined, inconclusive: boolean): SimulationResult {
    return {
      seed: this.options.seed,
      ok,
      ...(failure !== undefined ? { failure, failedAtTick: this.now_tick } : {}),
      stats: {
        ticks: this.now_tick,
        leaderChanges: this.counters.leaderChanges,
        committed: this.checker.maxCommitted,
        clientOpsCompleted: this.clients.completed,
        clientOpsTimedOut: this.clients.timedOut,
        crashes: this.counters.crashes,
        partitions: this.counters.partitions,
        confChanges: this.counters.confChanges,
        transfers: this.counters.transfers,
        snapshotsSent: this.counters.snapshotsSent,
        messagesSent: this.network.sent,
        linearizabilityInconclusive: inconclusive,
        votesChecked: this.checker.votesSeen,
        acknowledgedPuts: this.durability.count,
        powerLosses: this.sum((node) => node.fs.powerLosses),
        tornWrites: this.sum((node) => node.fs.tornWrites),
        tornTailsRecovered: this.sum((node) => node.tornTailsRecovered),
        syncFailureStops: this.sum((node) => node.syncStops),
        diskFullStops: this.sum((node) => node.diskFullStops + node.diskFullStarts),
        corruptions: this.counters.corruptions,
        refusedStarts: this.counters.refusedStarts,
        putRetries: this.clients.retries,
        duplicateAnswers: this.clients.duplicateAnswers,
        staleLeaders: this.staleLeaders,
        staleTailHeals: this.staleTailHeals,
        newLeaderReads: this.clients.newLeaderReads,
      },
      history: this.clients.history,
      trace: this.trace,
    };
  }
}
