import { assert, InvalidArgumentError, ZkpError } from '../errors/index.ts';
import type { ConfChange, NodeId } from '../raft/types.ts';
import { SafetyChecker, SafetyViolation } from './checkers.ts';
import { SimClients } from './clients.ts';
import { checkRegisterHistory } from './linearizability.ts';
import { SimNetwork } from './network.ts';
import { SimNode, type RaftTuning } from './node.ts';
import { Prng } from '../random/prng.ts';

export interface SimulationOptions {
  readonly seed: number;
  /** Ticks of faults and client load, followed by a calm period to check liveness. */
  readonly steps: number;
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
  };
  /** The fault schedule, one line per event, for reading a failure. */
  readonly trace: readonly string[];
}

const ALL_NODES: readonly NodeId[] = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CALM_TICKS = 300;
const MAX_TRACE_LINES = 2000;

export function replayCommand(seed: number, steps: number): string {
  return `npm run sim -- --seed ${seed} --steps ${steps}`;
}

/**
 * One deterministic run: everything (timing, faults, client load, Raft's own
 * randomness) comes from one Prng seeded with `seed`, so the same seed and
 * steps replay the same run exactly.
 */
export function runSimulation(options: SimulationOptions): SimulationResult {
  if (!Number.isSafeInteger(options.steps) || options.steps < 1) throw new InvalidArgumentError(`steps must be a positive integer, got ${options.steps}`);
  return new Simulation(options).run();
}

class Simulation {
  private readonly prng: Prng;
  private readonly network: SimNetwork;
  private readonly checker = new SafetyChecker();
  private readonly clients: SimClients;
  private readonly nodes = new Map<NodeId, SimNode>();
  private now_tick = 0;
  private readonly trace: string[] = [];
  private faultsEnabled = true;
  private lastLeader: NodeId | null = null;
  private readonly counters = { leaderChanges: 0, crashes: 0, partitions: 0, confChanges: 0, transfers: 0, snapshotsSent: 0 };
  private readonly crashAfterPersistProbability: number;
  private readonly tuning: RaftTuning;

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
    this.crashAfterPersistProbability = setup.pick([0, 0.002]);
    const snapshotEvery_entries = setup.pick([8, 25, 100]);
    this.note(
      `setup preVote=${tuning.preVote} checkQuorum=${tuning.checkQuorum} heartbeat=${tuning.heartbeatTicks} maxSizePerMsg=${tuning.maxSizePerMsg} inflight=${tuning.maxInflightMsgs} snapshotEvery=${snapshotEvery_entries}`,
    );
    const hooks = {
      send: (message: Parameters<SimNetwork['send']>[0]) => {
        if (message.type === 'snapshot') this.counters.snapshotsSent++;
        this.network.send(message, this.now_tick);
      },
      applied: (node: NodeId, entry: Parameters<SimClients['onApplied']>[1]) => this.clients.onApplied(node, entry, this.nodes),
      readState: (node: NodeId, state: Parameters<SimClients['onReadState']>[1]) => this.clients.onReadState(node, state, this.nodes),
    };
    // Half the seeds start with five voters (where Figure 8 histories can happen), half with three and two spares.
    const initialVoters = setup.chance(0.5) ? ALL_NODES : ALL_NODES.slice(0, 3);
    this.note(`voters ${initialVoters.join(',')}`);
    for (const id of ALL_NODES) {
      const bootstrap = initialVoters.includes(id) ? initialVoters : [];
      this.nodes.set(id, new SimNode(id, bootstrap, tuning, this.prng.fork(), this.checker, hooks, snapshotEvery_entries));
    }
    this.clients = new SimClients(['c1', 'c2', 'c3'], ['x', 'y'], this.prng.fork(), 60);
  }

  run(): SimulationResult {
    try {
      for (; this.now_tick < this.options.steps; this.now_tick++) this.step();
      this.calmDown();
      for (let i = 0; i < CALM_TICKS; i++, this.now_tick++) this.step();
      // Without pre-vote or check-quorum, a removed server that never learned of
      // its removal may disrupt elections forever (Raft thesis §4.2.3): expected.
      if (this.tuning.preVote || this.tuning.checkQuorum) this.checkLiveness();
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
    for (const node of this.nodes.values()) if (node.core !== null && !node.paused) node.core.tick();
    // A few delivery rounds per tick so zero-delay messages can chain within it.
    for (let round = 0; round < 3; round++) {
      this.drainAll();
      const due = this.network.takeDue(this.now_tick, (id) => {
        const node = this.nodes.get(id);
        return node !== undefined && !node.paused;
      });
      for (const message of due) {
        const node = this.nodes.get(message.to);
        assert(node !== undefined, () => `message to unknown node ${message.to}`);
        node.core?.step(message);
      }
    }
    this.drainAll();
    this.checkSafety();
  }

  private drainAll(): void {
    const crashProbability = this.faultsEnabled ? this.crashAfterPersistProbability : 0;
    for (const node of this.nodes.values()) {
      if (node.core === null) continue;
      node.drain(() => this.prng.chance(crashProbability));
      if (node.core === null) this.afterCrash(node, 'crash between persist and send');
    }
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
      if (status.role === 'leader' && this.lastLeader !== node.id) {
        this.lastLeader = node.id;
        this.counters.leaderChanges++;
        this.note(`leader ${node.id} term ${status.term}`);
      }
    }
  }

  // ---------------------------------------------------------------- faults

  private injectFaults(): void {
    const p = this.prng;
    if (p.chance(0.004)) this.crashSomeone();
    if (p.chance(0.003)) this.crashLeader();
    if (p.chance(0.02)) this.restartSomeone();
    if (p.chance(0.003)) this.pauseSomeone();
    if (p.chance(0.03)) this.unpauseEveryone();
    if (p.chance(0.006)) this.partitionSomehow();
    if (p.chance(0.012)) this.healNetwork();
    if (p.chance(0.006)) this.changeMembership();
    if (p.chance(0.004)) this.transferLeadership();
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
    this.clients.onCrash(node.id);
    this.note(`${why} ${node.id}`);
  }

  private restartSomeone(): void {
    const dead = [...this.nodes.values()].filter((node) => node.core === null);
    if (dead.length === 0) return;
    const node = this.prng.pick(dead);
    node.start();
    this.note(`restart ${node.id}`);
  }

  private pauseSomeone(): void {
    const node = this.prng.pick(this.liveNodes());
    node.paused = true;
    this.note(`pause ${node.id}`);
  }

  private unpauseEveryone(): void {
    for (const node of this.nodes.values()) node.paused = false;
  }

  private partitionSomehow(): void {
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
    if (this.network.describePartition() === '') return;
    this.network.heal();
    this.note('heal');
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
    try {
      const at = core.proposeConfChange(change);
      this.counters.confChanges++;
      this.note(`conf change ${change.type} ${change.nodeId} proposed by ${leader.id} at ${at.index}`);
    } catch (error) {
      if (!(error instanceof ZkpError) || (error.code !== 'INVALID_ARGUMENT' && error.code !== 'NOT_LEADER')) throw error;
    }
  }

  private transferLeadership(): void {
    const leader = this.leader();
    const core = leader?.core;
    if (leader === undefined || core === null || core === undefined) return;
    const targets = core.status().conf.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const target = this.prng.pick(targets);
    try {
      core.transferLeadership(target);
      this.counters.transfers++;
      this.note(`transfer ${leader.id} -> ${target}`);
    } catch (error) {
      if (!(error instanceof ZkpError) || error.code !== 'NOT_LEADER') throw error;
    }
  }

  // ---------------------------------------------------------------- end of run

  private calmDown(): void {
    this.faultsEnabled = false;
    this.network.calm();
    for (const node of this.nodes.values()) {
      node.paused = false;
      if (node.core === null) node.start();
    }
    this.note('calm: healed, restarted, unpaused');
  }

  /** After a calm period every current voter agrees on one leader and has caught up on its commit. */
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
          `after ${CALM_TICKS} calm ticks ${id} follows ${String(follower.leaderId)} at commit ${follower.commit}; leader ${leader.id} is at ${status.commit}`,
        );
      }
    }
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
      },
      trace: this.trace,
    };
  }
}
