/**
 * RaftNode options: what the caller gives, and the validated, defaulted form
 * the node runs with. Failover timing is tick_ms * electionTicks .. 2x that
 * (see docs/raft-driver.md).
 */
import { InvalidArgumentError } from '../../errors/index.ts';
import type { DriverLogger } from '../logger.ts';
import type { NodeId } from '../types.ts';
import type { StateMachine } from '../state-machine.ts';

export interface PeerInfo {
  /** host:port of the peer's Raft transport. */
  readonly raftAddress: string;
  /** host:port where clients reach the peer (named in NotLeader redirects). */
  readonly clientAddress: string;
}

export interface RaftNodeOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly dataDir: string;
  /**
   * Where the members are, this node included. A new cluster's first
   * configuration is exactly these nodes, as voters (every initial member must
   * be given the same list); with `join`, they are only addresses to reach.
   * Members added later carry their addresses in the change itself.
   */
  readonly peers: ReadonlyMap<NodeId, PeerInfo>;
  /**
   * Start a node that is not (yet) a member: its new log holds no
   * configuration, and it waits for a leader to add it (addMember). Ignored
   * when the data directory already holds a log.
   */
  readonly join?: boolean;
  readonly stateMachine: StateMachine;
  /** Where to listen for peers; defaults to this node's raftAddress. */
  readonly raftListenAddress?: string;
  readonly tick_ms?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot (and compact the log) every this many applied entries. */
  readonly snapshotEvery_entries?: number;
  /** Bound on proposals and reads waiting on this node; beyond it propose() fails with UnavailableError. */
  readonly pendingRequests_max?: number;
  /** A proposal not applied within this time fails with UnavailableError (outcome unknown). */
  readonly proposalTimeout_ms?: number;
  /** A readIndex() not answered within this time fails with NotLeaderError. */
  readonly readTimeout_ms?: number;
  /** Bytes of entries in one append message at most (the core's maxSizePerMsg). */
  readonly messageSize_bytes_max?: number;
  /** Append messages in flight to one follower at most (the core's maxInflightMsgs). */
  readonly inflightMessages_max?: number;
  readonly segment_bytes_max?: number;
  /** Seed for the election-timeout randomisation (logged at start). */
  readonly seed?: number;
  readonly logger?: DriverLogger;
}

export interface CompiledRaftNodeOptions extends Required<Omit<RaftNodeOptions, 'logger' | 'seed'>> {
  readonly seed: number;
  readonly logger: DriverLogger;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`raft node option ${name} must be a positive integer, got ${value}`);
  return value;
}

export function compileOptions(options: RaftNodeOptions, logger: DriverLogger): CompiledRaftNodeOptions {
  const self = options.peers.get(options.id);
  if (self === undefined) throw new InvalidArgumentError(`raft node option peers must include this node (${options.id})`);
  if (options.join === true && options.peers.size < 2) {
    // Its answers to the leader would have nowhere to go, and it would never catch up.
    throw new InvalidArgumentError(
      `raft node option peers must name the cluster's members as well as this node (${options.id}) to join: the leader's appends can be answered only where its address is known`,
    );
  }
  const tick_ms = positiveInteger('tick_ms', options.tick_ms ?? 10);
  const electionTicks = positiveInteger('electionTicks', options.electionTicks ?? 10);
  const heartbeatTicks = positiveInteger('heartbeatTicks', options.heartbeatTicks ?? 2);
  if (heartbeatTicks >= electionTicks) {
    throw new InvalidArgumentError(`raft node option heartbeatTicks (${heartbeatTicks}) must be below electionTicks (${electionTicks})`);
  }
  return {
    id: options.id,
    clusterId: options.clusterId,
    dataDir: options.dataDir,
    peers: options.peers,
    join: options.join ?? false,
    stateMachine: options.stateMachine,
    raftListenAddress: options.raftListenAddress ?? self.raftAddress,
    tick_ms,
    electionTicks,
    heartbeatTicks,
    snapshotEvery_entries: positiveInteger('snapshotEvery_entries', options.snapshotEvery_entries ?? 50_000),
    pendingRequests_max: positiveInteger('pendingRequests_max', options.pendingRequests_max ?? 20_000),
    proposalTimeout_ms: positiveInteger('proposalTimeout_ms', options.proposalTimeout_ms ?? 10_000),
    readTimeout_ms: positiveInteger('readTimeout_ms', options.readTimeout_ms ?? 2_000),
    messageSize_bytes_max: positiveInteger('messageSize_bytes_max', options.messageSize_bytes_max ?? 1024 * 1024),
    inflightMessages_max: positiveInteger('inflightMessages_max', options.inflightMessages_max ?? 256),
    segment_bytes_max: positiveInteger('segment_bytes_max', options.segment_bytes_max ?? 64 * 1024 * 1024),
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    logger,
  };
}
