/**
 * What every handler of the coordinator's services shares: the Raft node and
 * its job state machine, the leader gate, the proposer, the store (when one
 * is configured), and the leader's in-memory parts (worker streams,
 * heartbeats, progress, verifiers).
 */
import { FailedPreconditionError } from '../../errors/index.ts';
import type { RaftNode } from '../../raft/driver/index.ts';
import type { DriverLogger } from '../../raft/logger.ts';
import type { JobStateMachine } from '../state/job-state-machine.ts';
import type { UploadLimits } from './circuit-upload.ts';
import type { CryptoPool } from './crypto-pool.ts';
import type { HeartbeatBatcher } from './heartbeats.ts';
import type { LeaderGate } from './leadership.ts';
import type { CommandProposer } from './proposer.ts';
import type { CoordinatorStore } from './store-port.ts';
import type { VerifierCache } from './verifier-cache.ts';
import type { WatchHub } from './watch-hub.ts';
import type { WorkerStreams } from './worker-streams.ts';

export interface ServiceOptions {
  /** Workers' lease; they heartbeat every lease_ms / 3. */
  readonly lease_ms: number;
  /** Inputs up to this size travel in the Raft log; larger ones go to the store first. */
  readonly inlineInputMaxBytes: number;
  /** The largest job input accepted at all (either form). */
  readonly inputMaxBytes: number;
  /** The gRPC server's bound on one received message (set explicitly; an upload sends chunks well below it). */
  readonly messageBytesMax: number;
  readonly upload: UploadLimits;
  /** Where uploads are spooled before they are checked and stored. */
  readonly spoolDir: string;
  /** Leader duties: the tick period. */
  readonly tick_ms: number;
  /** Jobs archived per store call and `archived` entry. */
  readonly archiveBatch: number;
  /** Without a store: finished jobs leave the state this long after finishing. */
  readonly finishedRetain_ms: number;
}

export const DEFAULT_SERVICE_OPTIONS = {
  lease_ms: 5_000,
  inlineInputMaxBytes: 1024 * 1024,
  inputMaxBytes: 60 * 1024 * 1024,
  messageBytesMax: 64 * 1024 * 1024,
  tick_ms: 250,
  archiveBatch: 256,
  finishedRetain_ms: 10 * 60 * 1000,
} as const;

/** The store as the service sees it: none configured, or one (whose calls fail with UnavailableError while PostgreSQL is down). */
export class StoreHandle {
  constructor(private readonly store: CoordinatorStore | null) {}

  get configured(): boolean {
    return this.store !== null;
  }

  get(): CoordinatorStore | null {
    return this.store;
  }

  /** The store, or FailedPreconditionError saying that this cluster runs without one. */
  require(what: string): CoordinatorStore {
    if (this.store === null) {
      throw new FailedPreconditionError(
        `${what} needs the store, and this coordinator cluster runs without one (store.databaseUrl / DATABASE_URL is empty); start the coordinators with a database`,
      );
    }
    return this.store;
  }
}

export interface ServiceContext {
  readonly node: RaftNode;
  readonly machine: JobStateMachine;
  readonly gate: LeaderGate;
  readonly proposer: CommandProposer;
  readonly store: StoreHandle;
  readonly watches: WatchHub;
  readonly streams: WorkerStreams;
  readonly heartbeats: HeartbeatBatcher;
  readonly verifier: VerifierCache;
  /** Zkey reading and proof verification, off the event loop. */
  readonly crypto: CryptoPool;
  readonly options: ServiceOptions;
  readonly logger: DriverLogger;
  /** host:port of this node's HTTP server (health, JSON API), once it listens. */
  httpAddress(): string | null;
  /** This node leads and has applied its leader-start (its state holds every earlier commit). */
  leaderReady(): boolean;
}
