/**
 * Serves the KV client protocol (protocol.ts) for one RaftNode: puts become
 * proposals, gets wait for a ReadIndex barrier and then read the local map.
 * Followers answer writes and reads with 'not-leader' naming the leader's
 * client address; the client follows it.
 */
import * as grpc from '@grpc/grpc-js';
import { assert, InvalidArgumentError, NotFoundError, NotLeaderError, UnavailableError, ZkpError } from '../../errors/index.ts';
import type { LeaderChange, RaftNode } from '../driver/index.ts';
import { identity, serverOptions } from '../transport/grpc-options.ts';
import type { DriverLogger } from '../logger.ts';
import { encodePut, putBytesMax, writePut, type KvStateMachine } from './kv-state-machine.ts';
import {
  decodeSessionResult,
  encodePlainCommand,
  encodeRegisterCommand,
  sessionHeaderBytesMax,
  writeSessionHeader,
  type SessionTag,
} from '../sessions/envelope.ts';
import type { ExactlyOnceStateMachine } from '../sessions/exactly-once.ts';
import {
  decodeRequests,
  encodeResponses,
  KV_MEMBERSHIP_PATH,
  KV_SESSION_PATH,
  KV_STATUS_PATH,
  KV_TRANSFER_PATH,
  type KvRequest,
  type KvResponse,
  type MembershipReply,
  type MembershipRequest,
  type TransferReply,
} from './protocol.ts';
import { Writer } from '../codec.ts';
import { shutdownServer } from '../transport/shutdown.ts';

/** A method whose messages are raw bytes (framed by protocol.ts, or JSON for the rare administrative calls). */
function bytesMethod(path: string, streaming: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

const KV_SERVICE: grpc.ServiceDefinition = {
  Session: bytesMethod(KV_SESSION_PATH, true),
  Membership: bytesMethod(KV_MEMBERSHIP_PATH, false),
  TransferLeadership: bytesMethod(KV_TRANSFER_PATH, false),
  Status: bytesMethod(KV_STATUS_PATH, false),
};

/**
 * A unary administrative method, JSON both ways: `handle` gets the request's
 * fields (none when it is JSON but not an object; a body that is not JSON is
 * refused here, naming `what`) and answers with a reply that says itself
 * whether it failed.
 */
function jsonUnary(what: string, handle: (fields: Record<string, unknown>) => Promise<object>): grpc.handleUnaryCall<Buffer, Buffer> {
  return (call, callback) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(call.request.toString('utf8'));
    } catch {
      callback(null, Buffer.from(JSON.stringify(adminRefusal(new InvalidArgumentError(`${what} is not JSON`)))));
      return;
    }
    const reply = handle(typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {});
    void reply.then((answer) => callback(null, Buffer.from(JSON.stringify(answer))));
  };
}

/** The refusal half of an administrative JSON reply. */
function adminRefusal(
  error: unknown,
): { status: 'not-leader'; leaderId: string | null; leaderAddress: string | null } | { status: 'error'; code: string; message: string } {
  if (error instanceof NotLeaderError) return { status: 'not-leader', leaderId: error.leaderId, leaderAddress: error.leaderAddress };
  const code = error instanceof ZkpError ? error.code : 'INTERNAL';
  return { status: 'error', code, message: error instanceof Error ? error.message : String(error) };
}

/** A put in a client session, as one entry written by one writer. */
function encodeSessionPut(session: SessionTag, key: string, value: Uint8Array): Uint8Array {
  const w = new Writer(sessionHeaderBytesMax(session) + putBytesMax(key, value));
  writeSessionHeader(w, session);
  writePut(w, key, value);
  return w.finish();
}

function errorResponse(id: number, error: unknown): KvResponse {
  if (error instanceof NotLeaderError) return { id, status: 'not-leader', leaderId: error.leaderId, leaderAddress: error.leaderAddress };
  if (error instanceof ZkpError) return { id, status: 'error', code: error.code, message: error.message };
  return { id, status: 'error', code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export class KvService {
  private readonly server = new grpc.Server(serverOptions);
  private readonly sessions = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();

  constructor(
    private readonly node: RaftNode,
    /** The node's state machine: the KV map behind exactly-once client sessions. */
    private readonly stateMachine: ExactlyOnceStateMachine<KvStateMachine>,
    private readonly logger: DriverLogger,
  ) {
    this.server.addService(KV_SERVICE, {
      Session: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.session(call),
      Membership: jsonUnary('membership request', (fields) => this.membership(fields)),
      TransferLeadership: jsonUnary('transfer request', (fields) => this.transfer(fields)),
      Status: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        callback(null, Buffer.from(JSON.stringify({ ...this.node.status(), keys: this.stateMachine.inner.size(), sessions: this.stateMachine.stats() })));
      },
    });
  }

  start(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null) reject(new InvalidArgumentError(`kv service cannot listen on ${address}: ${error.message}`, { cause: error }));
        else resolve(port);
      });
    });
  }

  private session(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    this.sessions.add(call);
    let outgoing: KvResponse[] = [];
    let flushScheduled = false;
    let open = true;
    const respond = (response: KvResponse): void => {
      if (!open) return;
      outgoing.push(response);
      if (flushScheduled) return;
      flushScheduled = true;
      // One frame per turn of the event loop: a whole applied batch goes back together.
      setImmediate(() => {
        flushScheduled = false;
        if (!open || outgoing.length === 0) return;
        const frame = encodeResponses(outgoing);
        outgoing = [];
        call.write(frame);
      });
    };
    call.on('data', (frame: Buffer) => {
      let requests: KvRequest[];
      try {
        requests = decodeRequests(frame);
      } catch (error) {
        this.logger.warn({ error: (error as Error).message }, 'closing a kv session that sent a malformed frame');
        call.destroy(error as Error);
        return;
      }
      for (const request of requests) this.handle(request, respond);
    });
    const finish = (): void => {
      open = false;
      this.sessions.delete(call);
    };
    call.on('end', () => {
      finish();
      call.end();
    });
    call.on('error', finish);
    call.on('close', finish);
  }

  private handle(request: KvRequest, respond: (response: KvResponse) => void): void {
    const id = request.id;
    if (request.op === 'put') {
      const session = request.session;
      let command: Uint8Array;
      try {
        command = session === undefined ? encodePlainCommand(encodePut(request.key, request.value)) : encodeSessionPut(session, request.key, request.value);
      } catch (error) {
        respond(errorResponse(id, error));
        return;
      }
      this.node.propose(command).then(
        (raw) => {
          const outcome = decodeSessionResult(raw);
          if (outcome.status === 'applied' || outcome.status === 'duplicate') {
            respond({ id, status: 'ok', value: outcome.result });
            return;
          }
          const refusal =
            outcome.status === 'stale'
              ? new InvalidArgumentError(
                  `put of ${JSON.stringify(request.key)} is request ${session!.seq} of client ${session!.clientId}, below the oldest request whose result the cluster keeps for it: ` +
                    'it was not applied now; it was answered before, given up on, or its result was evicted, so its outcome cannot be told',
                )
              : new NotFoundError(
                  `put of ${JSON.stringify(request.key)}: client session ${session!.clientId} is unknown to the cluster (never opened, or forgotten to make room for newer sessions): ` +
                    'it was not applied; open a new session for new requests',
                );
          respond(errorResponse(id, refusal));
        },
        (error) => respond(errorResponse(id, error)),
      );
      return;
    }
    if (request.op === 'register') {
      this.node.propose(encodeRegisterCommand()).then(
        (raw) => {
          const outcome = decodeSessionResult(raw);
          assert(outcome.status === 'applied', () => `a register command was answered ${outcome.status}`);
          respond({ id, status: 'ok', value: outcome.result });
        },
        (error) => respond(errorResponse(id, error)),
      );
      return;
    }
    this.node.readIndex().then(
      () => {
        const value = this.stateMachine.inner.get(request.key);
        const w = new Writer(16 + (value?.length ?? 0));
        w.byte(value === undefined ? 0 : 1);
        w.bytes(value ?? new Uint8Array(0));
        respond({ id, status: 'ok', value: w.finish() });
      },
      (error) => respond(errorResponse(id, error)),
    );
  }

  private async membership(fields: Record<string, unknown>): Promise<MembershipReply> {
    try {
      const request = parseMembershipRequest(fields);
      const given =
        request.op !== 'remove' && request.raftAddress !== undefined && request.clientAddress !== undefined
          ? { raftAddress: request.raftAddress, clientAddress: request.clientAddress }
          : undefined;
      const result =
        request.op === 'remove'
          ? await this.node.removeMember(request.id)
          : await this.node.addMember(request.id, request.op === 'add-voter' ? 'voter' : 'learner', given);
      return { status: 'ok', index: result.index, members: result.members };
    } catch (error) {
      return adminRefusal(error);
    }
  }

  /**
   * Asks the leader to hand over to `to` and answers once `to` leads. The
   * core gives a transfer one election timeout (catching a lagging target up
   * first); waiting four covers the new leader's own election and its first
   * heartbeat reaching this node.
   */
  private async transfer(fields: Record<string, unknown>): Promise<TransferReply> {
    try {
      const to = fields.to;
      if (typeof to !== 'string' || to.length === 0) throw new InvalidArgumentError('transfer request needs the id of the node to hand leadership to');
      const wait_ms = 4 * this.node.options.electionTicks * this.node.options.tick_ms;
      const led = new Promise<TransferReply>((resolve, reject) => {
        const onChange = (change: LeaderChange): void => {
          if (change.leaderId !== to) return;
          finish();
          resolve({ status: 'ok', leaderId: to, leaderAddress: change.leaderAddress, term: change.term });
        };
        const timer = setTimeout(() => {
          finish();
          reject(new UnavailableError(`leadership did not move to ${to} within ${wait_ms} ms (is it running and reachable?)`));
        }, wait_ms);
        const finish = (): void => {
          clearTimeout(timer);
          this.node.off('leader-change', onChange);
        };
        this.node.on('leader-change', onChange);
        try {
          const status = this.node.status();
          if (status.leaderId === to && status.role === 'leader') {
            finish();
            resolve({ status: 'ok', leaderId: to, leaderAddress: status.leaderAddress, term: status.term });
            return;
          }
          this.node.transferLeadership(to);
        } catch (error) {
          finish();
          reject(error as Error);
        }
      });
      return await led;
    } catch (error) {
      return adminRefusal(error);
    }
  }

  async close(): Promise<void> {
    for (const call of this.sessions) call.end();
    await shutdownServer(this.server);
  }
}

function parseMembershipRequest(fields: Record<string, unknown>): MembershipRequest {
  const { op, id, raftAddress, clientAddress } = fields;
  if (op !== 'add-learner' && op !== 'add-voter' && op !== 'remove')
    throw new InvalidArgumentError(`membership op must be add-learner, add-voter or remove, got ${JSON.stringify(op)}`);
  if (typeof id !== 'string') throw new InvalidArgumentError('membership request needs an id');
  if (op === 'remove') return { op, id };
  if ((raftAddress === undefined) !== (clientAddress === undefined)) throw new InvalidArgumentError('give both the raft and the client address, or neither');
  if (raftAddress !== undefined && (typeof raftAddress !== 'string' || typeof clientAddress !== 'string'))
    throw new InvalidArgumentError('addresses must be strings');
  return raftAddress === undefined ? { op, id } : { op, id, raftAddress: raftAddress as string, clientAddress: clientAddress as string };
}
