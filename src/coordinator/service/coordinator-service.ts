/**
 * A coordinator's services around its RaftNode: the gRPC server (jobs,
 * workers, admin, health, reflection), the HTTP port, the leader duties, and
 * the job state machine's change listener, which feeds watchers on every
 * node and, on the leader, pushes assignments and cancellations to workers.
 */
import { UnavailableError } from '../../errors/index.ts';
import type { LeaderChange, RaftNode } from '../../raft/driver/index.ts';
import type { DriverLogger } from '../../raft/logger.ts';
import type { JobChange } from '../state/changes.ts';
import type { JobStateMachine } from '../state/job-state-machine.ts';
import { AdminService } from './admin-service.ts';
import { type ServiceContext, type ServiceOptions, StoreHandle } from './context.ts';
import { failStream } from './grpc-calls.ts';
import { CoordinatorGrpcServer } from './grpc-server.ts';
import { CryptoPool } from './crypto-pool.ts';
import { HeartbeatBatcher } from './heartbeats.ts';
import { HttpApi } from './http-api.ts';
import { JobService } from './job-service.ts';
import { LeaderDuties } from './leader-duties.ts';
import { LeaderGate } from './leadership.ts';
import { CommandProposer } from './proposer.ts';
import type { CoordinatorStore } from './store-port.ts';
import { VerifierCache } from './verifier-cache.ts';
import { WatchHub } from './watch-hub.ts';
import { WorkerService } from './worker-service.ts';
import { WorkerStreams } from './worker-streams.ts';

/** Watched jobs are re-checked against the state this often (a snapshot restore emits no changes). */
const WATCH_RESYNC_MS = 1_000;

export interface CoordinatorServiceDeps {
  readonly node: RaftNode;
  readonly machine: JobStateMachine;
  readonly store: CoordinatorStore | null;
  readonly options: ServiceOptions;
  readonly logger: DriverLogger;
}

export class CoordinatorService {
  readonly ctx: ServiceContext;
  readonly jobs: JobService;
  readonly workers: WorkerService;
  readonly admin: AdminService;
  readonly duties: LeaderDuties;
  private readonly grpc: CoordinatorGrpcServer;
  private readonly http: HttpApi;
  private httpAddress: string | null = null;
  private readonly unsubscribe: () => void;
  private readonly onLeaderChange: (change: LeaderChange) => void;
  private readonly resync: NodeJS.Timeout;
  private closed = false;

  constructor(deps: CoordinatorServiceDeps) {
    const { node, machine, logger } = deps;
    const store = new StoreHandle(deps.store);
    const crypto = new CryptoPool();
    this.ctx = {
      node,
      machine,
      gate: new LeaderGate(node),
      proposer: new CommandProposer(node),
      store,
      watches: new WatchHub(),
      streams: new WorkerStreams(),
      heartbeats: new HeartbeatBatcher(),
      verifier: new VerifierCache(
        (circuit) => store.require('verifying a proof (the verification key is in the store)').getArtifact(circuit.vkey_sha256),
        (vkey, publicSignals, proof) => crypto.verify(vkey, publicSignals, proof),
      ),
      crypto,
      options: deps.options,
      logger,
      httpAddress: () => this.httpAddress,
      leaderReady: () => this.duties.ready,
    };
    this.jobs = new JobService(this.ctx);
    this.workers = new WorkerService(this.ctx);
    this.admin = new AdminService(this.ctx);
    this.duties = new LeaderDuties(this.ctx);
    this.grpc = new CoordinatorGrpcServer(
      { job: this.jobs.implementation(), worker: this.workers.implementation(), admin: this.admin.implementation() },
      deps.options.messageBytesMax,
    );
    this.http = new HttpApi(this.ctx, this.jobs);
    this.unsubscribe = machine.onChange((change) => this.onJobChange(change));
    this.onLeaderChange = (change) => this.leadershipChanged(change);
    node.on('leader-change', this.onLeaderChange);
    this.resync = setInterval(() => this.ctx.watches.resync((id) => machine.job(id)), WATCH_RESYNC_MS);
    this.resync.unref();
    if (this.ctx.gate.isLeader) this.duties.start();
    crypto.warm().catch((error: unknown) => logger.warn({ error: (error as Error).message }, 'the crypto process did not start; it is retried on first use'));
  }

  /** Binds the gRPC server and the HTTP port; resolves with the ports bound. */
  async listen(apiListen: string, httpListen: string): Promise<{ grpcPort: number; httpPort: number }> {
    const grpcPort = await this.grpc.listen(apiListen);
    const httpPort = await this.http.listen(httpListen);
    const host = httpListen.slice(0, httpListen.lastIndexOf(':'));
    this.httpAddress = `${host === '' || host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${httpPort}`;
    return { grpcPort, httpPort };
  }

  private leadershipChanged(change: LeaderChange): void {
    if (this.closed) return;
    if (change.role === 'leader' && change.leaderId === this.ctx.node.id) {
      this.duties.start();
      return;
    }
    if (!this.duties.leading) return;
    this.duties.stop();
    // Workers follow the redirect to the new leader (unknown yet during an election: they retry).
    const redirect = this.ctx.gate.notLeader();
    this.ctx.streams.closeAll((stream) => failStream(stream, redirect, 'Assignments', this.ctx.logger));
  }

  /** The state machine's listener: runs inside apply(), must not throw. */
  private onJobChange(change: JobChange): void {
    try {
      const leading = this.ctx.gate.isLeader;
      switch (change.kind) {
        case 'job-assigned':
          this.ctx.watches.jobChanged(change.job);
          if (leading) this.workers.pushAssignment(change.job);
          break;
        case 'job-requeued':
          this.ctx.watches.jobChanged(change.job);
          if (leading) this.workers.pushCancel(change.revokedFrom.workerId, change.job.id);
          break;
        case 'job-finished':
          this.ctx.watches.jobChanged(change.job);
          if (leading && change.revokedFrom !== null) this.workers.pushCancel(change.revokedFrom.workerId, change.job.id);
          break;
        case 'job-submitted':
        case 'job-running':
          this.ctx.watches.jobChanged(change.job);
          break;
        case 'job-archived':
          this.ctx.watches.jobArchived(change.jobId);
          break;
        case 'worker-deregistered':
          if (leading) this.ctx.streams.close(change.workerId, (stream) => stream.end());
          break;
        case 'circuit-registered':
        case 'worker-registered':
        case 'worker-dead':
        case 'worker-revived':
          break;
      }
      if (leading && change.kind !== 'job-running' && change.kind !== 'job-archived' && change.kind !== 'circuit-registered') this.duties.schedulerDirty();
    } catch (error) {
      this.ctx.logger.error({ change: change.kind, error: (error as Error).message, stack: (error as Error).stack }, 'change listener failed');
    }
  }

  /** Stops serving: leader duties, worker streams and watches (told to go elsewhere), both servers. The node is the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.resync);
    this.unsubscribe();
    this.ctx.node.off('leader-change', this.onLeaderChange);
    this.duties.stop();
    const closing = new UnavailableError(`coordinator ${this.ctx.node.id} is shutting down; try another coordinator`);
    this.ctx.streams.closeAll((stream) => failStream(stream, closing, 'Assignments', this.ctx.logger));
    this.ctx.watches.closeAll(closing);
    this.admin.close();
    await Promise.all([this.grpc.close(), this.http.close()]);
    await this.ctx.crypto.close();
  }
}
