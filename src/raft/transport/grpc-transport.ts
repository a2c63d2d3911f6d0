/**
 * Peer-to-peer Raft transport over gRPC (grpc-js, service defined in code, no
 * protoc): each node serves one client-streaming method; each node keeps one
 * outgoing stream per peer (PeerSender) carrying frames, each frame a batch of
 * encoded messages (codec.ts). Incoming frames are decoded and handed to
 * `onMessages` in arrival order.
 */
import * as grpc from '@grpc/grpc-js';
import { assert, InvalidArgumentError } from '../../errors/index.ts';
import { decodeMessageBatch } from '../codec.ts';
import type { Message, NodeId } from '../types.ts';
import { BatchAssembler } from './frames.ts';
import { identity, serverOptions } from './grpc-options.ts';
import { silentLogger, type DriverLogger } from '../logger.ts';
import { PeerSender, RAFT_STREAM_PATH, type PeerSenderStats } from './peer-sender.ts';
import { LogLimiter, REPEATED_LOG_MS } from './log-limiter.ts';
import { shutdownServer } from './shutdown.ts';
import { checkStream } from './stream-identity.ts';

export interface GrpcTransportOptions {
  readonly selfId: NodeId;
  /** Streams from nodes of another cluster are refused (stream-identity.ts). */
  readonly clusterId: string;
  /** host:port to listen on for peers (port 0 picks a free one). */
  readonly listenAddress: string;
  /** Peer id -> host:port of its Raft transport (self excluded or ignored). */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly onMessages: (messages: Message[]) => void;
  readonly queue_messages_max?: number;
  readonly reconnect_ms_min?: number;
  readonly reconnect_ms_max?: number;
  readonly logger?: DriverLogger;
}

const RAFT_SERVICE: grpc.ServiceDefinition = {
  Stream: {
    path: RAFT_STREAM_PATH,
    requestStream: true,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export class GrpcTransport {
  private readonly server = new grpc.Server(serverOptions);
  private readonly senders = new Map<NodeId, PeerSender>();
  private readonly logger: DriverLogger;
  private readonly openCalls = new Set<grpc.ServerReadableStream<Buffer, Buffer>>();
  private readonly logLimiter = new LogLimiter(REPEATED_LOG_MS);
  private closed = false;
  received_frames = 0;
  rejected_frames = 0;
  /** Streams refused because they came from another cluster or were meant for another node. */
  refused_streams = 0;

  constructor(private readonly options: GrpcTransportOptions) {
    if (options.clusterId.length === 0) throw new InvalidArgumentError('raft transport: clusterId must be non-empty');
    this.logger = options.logger ?? silentLogger;
    for (const [peerId, address] of options.peers) this.setPeer(peerId, address);
    this.server.addService(RAFT_SERVICE, {
      Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => this.serve(call, callback),
    });
  }

  /**
   * Where to send messages for `peerId` from now on (a member added by a
   * membership change, or one whose address changed). Unchanged addresses keep
   * their open stream.
   */
  setPeer(peerId: NodeId, address: string): void {
    if (peerId === this.options.selfId || this.closed) return;
    if (!/^[^\s:]+:\d+$/.test(address)) throw new InvalidArgumentError(`peer ${peerId}: address must be host:port, got ${JSON.stringify(address)}`);
    const existing = this.senders.get(peerId);
    if (existing?.address === address) return;
    existing?.close();
    this.senders.set(
      peerId,
      new PeerSender({
        self: { clusterId: this.options.clusterId, nodeId: this.options.selfId },
        peerId,
        address,
        queue_messages_max: this.options.queue_messages_max ?? 4096,
        reconnect_ms_min: this.options.reconnect_ms_min ?? 50,
        reconnect_ms_max: this.options.reconnect_ms_max ?? 500,
        logger: this.logger,
      }),
    );
  }

  /** Stops sending to `peerId` (it left the configuration) and closes its stream. */
  removePeer(peerId: NodeId): void {
    this.senders.get(peerId)?.close();
    this.senders.delete(peerId);
  }

  /** Binds the listening socket; resolves with the bound port. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(this.options.listenAddress, grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null)
          reject(new InvalidArgumentError(`raft transport cannot listen on ${this.options.listenAddress}: ${error.message}`, { cause: error }));
        else resolve(port);
      });
    });
  }

  private serve(call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const check = checkStream(call.metadata, { clusterId: this.options.clusterId, nodeId: this.options.selfId }, call.getPeer());
    if (!check.ok) {
      this.refused_streams++;
      if (this.logLimiter.allow(`refused ${check.key}`)) this.logger.error({ reason: check.reason }, 'refused a raft stream');
      callback({ code: grpc.status.FAILED_PRECONDITION, details: check.reason });
      return;
    }
    const from = check.from;
    this.openCalls.add(call);
    const assembler = new BatchAssembler();
    call.on('data', (frame: Buffer) => {
      let messages: Message[];
      try {
        const batch = assembler.accept(frame);
        if (batch === null) return; // more pieces to come
        messages = decodeMessageBatch(batch, 'raft frame');
      } catch (error) {
        this.rejected_frames++;
        this.logger.warn({ error: (error as Error).message }, 'dropping a malformed raft frame');
        return;
      }
      this.received_frames++;
      // The stream's identity was checked; each message must agree with it.
      const forMe = messages.filter((m) => m.to === this.options.selfId && m.from === from);
      if (forMe.length !== messages.length && this.logLimiter.allow(`misaddressed ${from}`)) {
        this.logger.warn(
          { peer: from, dropped: messages.length - forMe.length },
          "dropping raft messages whose sender or recipient differs from their stream's",
        );
      }
      this.senders.get(from)?.noteAlive();
      if (forMe.length > 0 && !this.closed) this.options.onMessages(forMe);
    });
    call.on('error', () => this.openCalls.delete(call));
    call.on('end', () => {
      this.openCalls.delete(call);
      callback(null, Buffer.alloc(0));
    });
  }

  /** Sends messages to their peers; never blocks, drops what cannot be queued. */
  send(messages: readonly Message[]): void {
    if (this.closed || messages.length === 0) return;
    // Group per peer so one Ready makes one frame per peer.
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of messages) {
      assert(m.from === this.options.selfId, () => `message from ${m.from} sent by ${this.options.selfId}`);
      const list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, [m]);
      else list.push(m);
    }
    for (const [peerId, list] of byPeer) {
      const sender = this.senders.get(peerId);
      if (sender === undefined) {
        if (this.logLimiter.allow(`no address ${peerId}`)) this.logger.warn({ peer: peerId }, 'no address for raft peer; dropping messages');
        continue;
      }
      sender.send(list);
    }
  }

  stats(): Record<NodeId, PeerSenderStats> {
    const out: Record<NodeId, PeerSenderStats> = {};
    for (const [peerId, sender] of this.senders) out[peerId] = { ...sender.stats };
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sender of this.senders.values()) sender.close();
    for (const call of this.openCalls) call.destroy();
    await shutdownServer(this.server);
  }
}
