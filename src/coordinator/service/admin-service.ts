/**
 * zkp.v1.AdminService: cluster status, leadership transfer, membership.
 *
 * Status is answered by any node: its own Raft status, each other member's
 * own entry (asked with StatusRequest{local_only}, a short deadline; a member
 * that does not answer is listed reachable:false), and the workers and job
 * counts of this node's applied state.
 */
import * as grpc from '@grpc/grpc-js';
import { adminServiceClient } from '../../api/load.ts';
import type { ClusterStatusMessage, CoordinatorStatusMessage } from '../../api/types.ts';
import { InvalidArgumentError, UnavailableError } from '../../errors/index.ts';
import type { LeaderChange, MemberInfo } from '../../raft/driver/index.ts';
import { toWorkerStatusMessage } from '../state/messages.ts';
import type { ServiceContext } from './context.ts';
import { unary } from './grpc-calls.ts';
import type { AddCoordinatorRequestMessage, RemoveCoordinatorRequestMessage, StatusRequestMessage, TransferLeadershipRequestMessage } from './messages.ts';

const PEER_STATUS_TIMEOUT_MS = 500;

type AdminClient = grpc.Client & {
  Status(request: StatusRequestMessage, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: ClusterStatusMessage) => void): void;
};

export class AdminService {
  private readonly peers = new Map<string, AdminClient>();

  constructor(private readonly ctx: ServiceContext) {}

  implementation(): grpc.UntypedServiceImplementation {
    const logger = this.ctx.logger;
    return {
      Status: unary('Status', logger, (request: StatusRequestMessage) => this.status(request.local_only === true)),
      TransferLeadership: unary('TransferLeadership', logger, (request: TransferLeadershipRequestMessage) => this.transfer(request)),
      AddCoordinator: unary('AddCoordinator', logger, (request: AddCoordinatorRequestMessage) => this.add(request)),
      RemoveCoordinator: unary('RemoveCoordinator', logger, (request: RemoveCoordinatorRequestMessage) => this.remove(request)),
    };
  }

  /** This node's own entry. */
  self(): CoordinatorStatusMessage {
    const status = this.ctx.node.status();
    const me = status.members.find((member) => member.id === status.id);
    const http = this.ctx.httpAddress();
    return {
      id: status.id,
      role: me?.role === 'learner' ? 'learner' : status.role,
      term: status.term,
      commit_index: status.commit,
      applied_index: status.applied,
      client_address: me?.clientAddress ?? '',
      raft_address: me?.raftAddress ?? '',
      health_url: http === null ? '' : `http://${http}/health`,
      reachable: true,
    };
  }

  async status(localOnly: boolean): Promise<ClusterStatusMessage> {
    const { node, machine } = this.ctx;
    const status = node.status();
    const self = this.self();
    const others = localOnly ? [] : await Promise.all(status.members.filter((member) => member.id !== status.id).map((member) => this.askPeer(member)));
    const counts = machine.counts();
    return {
      answered_by: status.id,
      leader_id: status.leaderId ?? '',
      leader_address: status.leaderAddress ?? '',
      term: status.term,
      coordinators: [self, ...others],
      workers: localOnly ? [] : machine.workers().map(toWorkerStatusMessage),
      jobs_queued: counts.queued,
      jobs_running: counts.assigned + counts.running,
      jobs_finished_unarchived: counts.finishedUnarchived,
    };
  }

  private askPeer(member: MemberInfo): Promise<CoordinatorStatusMessage> {
    const unreachable: CoordinatorStatusMessage = {
      id: member.id,
      role: member.role === 'learner' ? 'learner' : 'unknown',
      term: 0,
      commit_index: 0,
      applied_index: 0,
      client_address: member.clientAddress ?? '',
      raft_address: member.raftAddress ?? '',
      health_url: '',
      reachable: false,
    };
    if (member.clientAddress === null) return Promise.resolve(unreachable);
    let client = this.peers.get(member.clientAddress);
    if (client === undefined) {
      const Client = adminServiceClient();
      client = new Client(member.clientAddress, grpc.credentials.createInsecure()) as unknown as AdminClient;
      this.peers.set(member.clientAddress, client);
    }
    const peer = client;
    return new Promise((resolve) => {
      peer.Status({ local_only: true }, { deadline: Date.now() + PEER_STATUS_TIMEOUT_MS }, (error, response) => {
        const entry = response?.coordinators.find((c) => c.id === member.id);
        if (error !== null || entry === undefined) {
          resolve(unreachable);
          return;
        }
        // Learner or voter as this node's configuration has it (the member may not have applied its own change yet).
        const role = member.role === 'learner' ? 'learner' : entry.role === 'learner' ? 'follower' : entry.role;
        resolve({ ...entry, role });
      });
    });
  }

  /** Hands leadership to `to` and answers once `to` leads (within four election timeouts). */
  private async transfer(request: TransferLeadershipRequestMessage): Promise<ClusterStatusMessage> {
    const { node, gate } = this.ctx;
    const to = request.to;
    if (to === '') throw new InvalidArgumentError('TransferLeadership needs the id of the coordinator to hand leadership to');
    const status = node.status();
    if (status.leaderId === to && (to !== node.id || status.role === 'leader')) return this.status(false);
    gate.requireLeader();
    const wait_ms = 4 * node.options.electionTicks * node.options.tick_ms;
    await new Promise<void>((resolve, reject) => {
      const onChange = (change: LeaderChange): void => {
        if (change.leaderId !== to) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new UnavailableError(`leadership did not move to ${to} within ${wait_ms} ms (is it running and caught up?)`));
      }, wait_ms);
      const finish = (): void => {
        clearTimeout(timer);
        node.off('leader-change', onChange);
      };
      node.on('leader-change', onChange);
      try {
        node.transferLeadership(to);
      } catch (error) {
        finish();
        reject(error as Error);
      }
    });
    return this.status(false);
  }

  private async add(request: AddCoordinatorRequestMessage): Promise<ClusterStatusMessage> {
    if (request.id === '') throw new InvalidArgumentError('AddCoordinator needs the new coordinator id');
    const given = request.raft_address !== '' || request.client_address !== '';
    if (given && (request.raft_address === '' || request.client_address === ''))
      throw new InvalidArgumentError('give both the raft_address and the client_address of the new coordinator, or neither (to promote a learner)');
    await this.ctx.node.addMember(
      request.id,
      request.as_learner ? 'learner' : 'voter',
      given ? { raftAddress: request.raft_address, clientAddress: request.client_address } : undefined,
    );
    return this.status(false);
  }

  private async remove(request: RemoveCoordinatorRequestMessage): Promise<ClusterStatusMessage> {
    if (request.id === '') throw new InvalidArgumentError('RemoveCoordinator needs the coordinator id');
    this.ctx.gate.requireLeader();
    await this.ctx.node.removeMember(request.id);
    return this.status(false);
  }

  close(): void {
    for (const client of this.peers.values()) client.close();
    this.peers.clear();
  }
}
