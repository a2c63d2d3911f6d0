/**
 * Client of one node's KV service (protocol.ts). Requests made in the same
 * turn of the event loop travel in one frame. Errors come back as the
 * project's named errors: NotLeaderError (naming the leader's client address),
 * UnavailableError when the stream breaks, or a ZkpError with the server's code.
 * It does not follow redirects by itself; KvClusterClient (below) does.
 */
import * as grpc from '@grpc/grpc-js';
import { NotLeaderError, UnavailableError, ZkpError, type ErrorCode } from '../../errors/index.ts';
import { Reader } from '../codec.ts';
import { channelOptions, identity } from '../transport/grpc-options.ts';
import {
  decodeResponses,
  encodeRequests,
  KV_MEMBERSHIP_PATH,
  KV_SESSION_PATH,
  KV_STATUS_PATH,
  KV_TRANSFER_PATH,
  type KvRequest,
  type KvResponse,
  type MembershipReply,
  type MembershipRequest,
  type MemberView,
  type TransferReply,
} from './protocol.ts';
import { ClientSession } from '../sessions/client-session.ts';
import type { SessionTag } from '../sessions/envelope.ts';

interface Waiter {
  readonly resolve: (value: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

export class KvClient {
  private readonly client: grpc.Client;
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private outgoing: KvRequest[] = [];
  private flushScheduled = false;

  constructor(readonly address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), channelOptions(50, 500));
  }

  /**
   * Resolves with the log index the put was applied at. With a session tag,
   * a put the cluster has applied before under the same tag is not applied
   * again; the answer is the index it was applied at then.
   */
  async put(key: string, value: Uint8Array, session?: SessionTag): Promise<number> {
    const result = await this.request((id) => (session === undefined ? { id, op: 'put', key, value } : { id, op: 'put', key, value, session }));
    return new Reader(result, 'put result').varuint();
  }

  /** Opens a client session (one Raft entry); resolves with its id, for put's session tags. */
  async register(): Promise<string> {
    return new TextDecoder().decode(await this.request((id) => ({ id, op: 'register' })));
  }

  /** Linearizable read through the node's ReadIndex. */
  async get(key: string): Promise<Uint8Array | undefined> {
    const result = await this.request((id) => ({ id, op: 'get', key }));
    const r = new Reader(result, 'get result');
    const found = r.byte() === 1;
    const value = r.bytes();
    return found ? value.slice() : undefined;
  }

  status(timeout_ms = 1000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        KV_STATUS_PATH,
        identity,
        identity,
        Buffer.alloc(0),
        { deadline: Date.now() + timeout_ms },
        (error, value) => {
          if (error !== null || value === undefined) reject(new UnavailableError(`status from ${this.address} failed: ${error?.message ?? 'no value'}`));
          else resolve(JSON.parse(value.toString()) as Record<string, unknown>);
        },
      );
    });
  }

  /** Adds, promotes or removes a member (leader only: a follower answers NotLeaderError naming the leader). */
  async changeMembership(request: MembershipRequest, timeout_ms = 15_000): Promise<{ index: number; members: readonly MemberView[] }> {
    const reply = await this.adminCall<MembershipReply>(KV_MEMBERSHIP_PATH, request, timeout_ms, 'membership change');
    return { index: reply.index, members: reply.members };
  }

  /** Hands leadership to `to` (leader only); resolves once `to` leads. */
  async transferLeadership(to: string, timeout_ms = 15_000): Promise<{ leaderId: string; leaderAddress: string | null; term: number }> {
    const reply = await this.adminCall<TransferReply>(KV_TRANSFER_PATH, { to }, timeout_ms, 'leadership transfer');
    return { leaderId: reply.leaderId, leaderAddress: reply.leaderAddress, term: reply.term };
  }

  /** A unary JSON call; resolves with the 'ok' reply, rejects with the named error of any other. */
  private adminCall<R extends { status: string }>(path: string, request: object, timeout_ms: number, what: string): Promise<Extract<R, { status: 'ok' }>> {
    return new Promise((resolve, reject) => {
      const body = Buffer.from(JSON.stringify(request));
      this.client.makeUnaryRequest<Buffer, Buffer>(path, identity, identity, body, { deadline: Date.now() + timeout_ms }, (error, value) => {
        if (error !== null || value === undefined) {
          reject(new UnavailableError(`${what} through ${this.address} failed: ${error?.message ?? 'no value'}`));
          return;
        }
        const reply = JSON.parse(value.toString()) as {
          status: string;
          leaderId?: string | null;
          leaderAddress?: string | null;
          code?: string;
          message?: string;
        };
        if (reply.status === 'ok') resolve(reply as Extract<R, { status: 'ok' }>);
        else if (reply.status === 'not-leader') reject(new NotLeaderError(reply.leaderId ?? null, reply.leaderAddress ?? null));
        else reject(new ZkpError((reply.code ?? 'INTERNAL') as ErrorCode, reply.message ?? `${what} failed`));
      });
    });
  }

  private request(make: (id: number) => KvRequest): Promise<Uint8Array> {
    const id = this.nextId++;
    const promise = new Promise<Uint8Array>((resolve, reject) => this.waiters.set(id, { resolve, reject }));
    this.outgoing.push(make(id));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return promise;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outgoing.length === 0) return;
    const call = this.call ?? this.openStream();
    const frame = encodeRequests(this.outgoing);
    this.outgoing = [];
    call.write(frame);
  }

  private openStream(): grpc.ClientDuplexStream<Buffer, Buffer> {
    const call = this.client.makeBidiStreamRequest<Buffer, Buffer>(KV_SESSION_PATH, identity, identity);
    call.on('data', (frame: Buffer) => {
      for (const response of decodeResponses(frame)) this.settle(response);
    });
    const broken = (why: string): void => {
      if (this.call !== call) return;
      this.call = null;
      const error = new UnavailableError(`kv session with ${this.address} ended: ${why}`);
      for (const waiter of this.waiters.values()) waiter.reject(error);
      this.waiters.clear();
    };
    call.on('error', (error: Error) => broken(error.message));
    call.on('end', () => broken('closed by the server'));
    this.call = call;
    return call;
  }

  private settle(response: KvResponse): void {
    const waiter = this.waiters.get(response.id);
    if (waiter === undefined) return;
    this.waiters.delete(response.id);
    if (response.status === 'ok') waiter.resolve(response.value);
    else if (response.status === 'not-leader') waiter.reject(new NotLeaderError(response.leaderId, response.leaderAddress));
    else waiter.reject(new ZkpError(response.code as ErrorCode, response.message));
  }

  close(): void {
    const call = this.call;
    this.call = null;
    call?.end();
    for (const waiter of this.waiters.values()) waiter.reject(new UnavailableError(`kv client for ${this.address} closed`));
    this.waiters.clear();
    this.client.close();
  }
}

/**
 * A client of the whole cluster: sends to the node it believes leads, follows
 * NotLeader redirects, and tries the other nodes (with a short pause) while no
 * leader is known or the believed leader is unreachable. Its puts carry a
 * client session (src/raft/sessions/), opened on the first put, so retrying
 * one whose outcome was unknown (a broken stream, a timeout, a leader change)
 * cannot apply it twice. If the cluster has forgotten the session (more than
 * 10,000 newer ones), the put fails with a NOT_FOUND error and the next put
 * opens a new session.
 */
export class KvClusterClient {
  private readonly clients = new Map<string, KvClient>();
  private leaderAddress: string;
  private session: Promise<ClientSession> | null = null;

  constructor(
    private readonly addresses: readonly string[],
    private readonly retry_ms = 20,
    private readonly attempts_max = 200,
  ) {
    if (addresses.length === 0) throw new UnavailableError('kv cluster client needs at least one address');
    this.leaderAddress = addresses[0]!;
  }

  private clientFor(address: string): KvClient {
    const known = this.clients.get(address);
    if (known !== undefined) return known;
    const client = new KvClient(address);
    this.clients.set(address, client);
    return client;
  }

  get currentLeaderAddress(): string {
    return this.leaderAddress;
  }

  async put(key: string, value: Uint8Array): Promise<number> {
    this.session ??= this.withRedirects((client) => client.register()).then((id) => new ClientSession(id));
    const opening = this.session;
    let session: ClientSession;
    try {
      session = await opening;
    } catch (error) {
      if (this.session === opening) this.session = null; // the next put tries again
      throw error;
    }
    const seq = session.begin();
    try {
      return await this.withRedirects((client) => client.put(key, value, session.tag(seq)));
    } catch (error) {
      if (error instanceof ZkpError && error.code === 'NOT_FOUND' && this.session === opening) this.session = null; // forgotten by the cluster: open a new one
      throw error;
    } finally {
      // Answered, or given up on: never sent again, so the cluster may forget it.
      session.finish(seq);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.withRedirects((client) => client.get(key));
  }

  /** Through the leader; the leader's refusals (already a member, a learner not caught up) come back as they are. */
  async changeMembership(request: MembershipRequest): Promise<{ index: number; members: readonly MemberView[] }> {
    return this.withRedirects((client) => client.changeMembership(request));
  }

  async transferLeadership(to: string): Promise<{ leaderId: string; leaderAddress: string | null; term: number }> {
    return this.withRedirects((client) => client.transferLeadership(to));
  }

  private async withRedirects<T>(operation: (client: KvClient) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts_max; attempt++) {
      const address = this.leaderAddress;
      try {
        return await operation(this.clientFor(address));
      } catch (error) {
        lastError = error;
        if (error instanceof NotLeaderError && error.leaderAddress !== null && error.leaderAddress !== address) {
          this.leaderAddress = error.leaderAddress;
          continue;
        }
        if (!(error instanceof NotLeaderError) && !(error instanceof UnavailableError)) throw error;
        // No leader known, or this node is gone: try the next one after a pause.
        if (this.leaderAddress === address) {
          const next = (this.addresses.indexOf(address) + 1) % this.addresses.length;
          this.leaderAddress = this.addresses[next]!;
        }
        await new Promise((r) => setTimeout(r, this.retry_ms));
      }
    }
    throw lastError;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
