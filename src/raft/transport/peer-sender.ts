/**
 * The outgoing half of the transport for one peer: a gRPC client stream that
 * carries encoded message batches, a bounded queue, and reconnect with backoff.
 *
 * Raft tolerates loss, so this never blocks and never buffers without bound:
 * - while the peer is down (between a failed stream and the next attempt),
 *   messages for it are dropped;
 * - while the stream pushes back (write() returned false), messages queue up to
 *   queue_messages_max, then further ones are dropped.
 */
import * as grpc from '@grpc/grpc-js';
import { assert } from '../../errors/index.ts';
import { encodeMessageBatch } from '../codec.ts';
import { BATCH_BYTES_MAX, framesOf } from './frames.ts';
import type { Message, NodeId } from '../types.ts';
import { channelOptions, identity } from './grpc-options.ts';
import type { DriverLogger } from '../logger.ts';
import { LogLimiter, REPEATED_LOG_MS } from './log-limiter.ts';
import { streamMetadata, type LocalIdentity } from './stream-identity.ts';

export const RAFT_STREAM_PATH = '/zkp.raft.RaftTransport/Stream';

export interface PeerSenderOptions {
  /** This node; sent with every stream so the peer can refuse a foreign one. */
  readonly self: LocalIdentity;
  readonly peerId: NodeId;
  readonly address: string;
  readonly queue_messages_max: number;
  readonly reconnect_ms_min: number;
  readonly reconnect_ms_max: number;
  readonly logger: DriverLogger;
}

export interface PeerSenderStats {
  sent_messages: number;
  sent_frames: number;
  dropped_messages: number;
  reconnects: number;
  /** Streams the peer refused (another cluster, or not the node this one thinks it is). */
  refusals: number;
}

type State = 'idle' | 'up' | 'down' | 'closed';

export class PeerSender {
  readonly stats: PeerSenderStats = { sent_messages: 0, sent_frames: 0, dropped_messages: 0, reconnects: 0, refusals: 0 };
  private readonly client: grpc.Client;
  private state: State = 'idle';
  private call: grpc.ClientWritableStream<Buffer> | null = null;
  private queue: Message[] = []; // invariant: length <= queue_messages_max
  private writable = true; // false between a write() that returned false and 'drain'
  private backoff_ms: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  // One refusal line per peer per interval, whatever the reason says: it names this node's port as the peer saw it, which changes with each connection.
  private readonly refusalLog = new LogLimiter(REPEATED_LOG_MS);

  constructor(private readonly options: PeerSenderOptions) {
    assert(options.queue_messages_max > 0, 'peer queue bound must be positive');
    this.backoff_ms = options.reconnect_ms_min;
    this.client = new grpc.Client(options.address, grpc.credentials.createInsecure(), channelOptions(options.reconnect_ms_min, options.reconnect_ms_max));
  }

  get address(): string {
    return this.options.address;
  }

  send(messages: readonly Message[]): void {
    if (this.state === 'closed' || this.state === 'down') {
      this.stats.dropped_messages += messages.length;
      return;
    }
    if (this.state === 'idle') this.openStream();
    for (const m of messages) {
      if (this.queue.length >= this.options.queue_messages_max) {
        this.stats.dropped_messages++;
        continue;
      }
      this.queue.push(m);
    }
    this.flush();
  }

  private openStream(): void {
    assert(this.call === null, 'one stream per peer');
    const metadata = streamMetadata(this.options.self, this.options.peerId);
    const call = this.client.makeClientStreamRequest<Buffer, Buffer>(RAFT_STREAM_PATH, identity, identity, metadata, (error) => {
      // The stream ended: the peer closed it, died, or was never reachable.
      if (this.call !== call) return;
      this.call = null;
      this.writable = true;
      if (this.state === 'closed') return;
      if (error?.code === grpc.status.FAILED_PRECONDITION) {
        // Refused for who we are: retrying soon cannot help, and the operator must hear why.
        this.stats.refusals++;
        this.backoff_ms = this.options.reconnect_ms_max;
        if (this.refusalLog.allow('refused'))
          this.options.logger.error(
            { peer: this.options.peerId, address: this.options.address, reason: error.details },
            "raft peer refused this node's stream",
          );
      } else {
        this.options.logger.debug({ peer: this.options.peerId, error: error?.message }, 'raft stream to peer ended');
      }
      this.markDown();
    });
    call.on('error', () => {}); // reported through the callback above
    call.on('drain', () => {
      if (this.call !== call) return;
      this.writable = true;
      this.flush();
    });
    this.call = call;
    this.writable = true;
    this.state = 'up';
  }

  private flush(): void {
    if (this.call === null || !this.writable || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const encoded = encodeMessageBatch(batch);
    if (encoded.length > BATCH_BYTES_MAX) {
      // Nothing can carry it; the core resends a snapshot later, so say why it never arrives.
      this.stats.dropped_messages += batch.length;
      this.options.logger.error(
        { peer: this.options.peerId, bytes: encoded.length, limit_bytes: BATCH_BYTES_MAX },
        'raft batch (a snapshot?) above the transport limit; dropped',
      );
      return;
    }
    this.stats.sent_messages += batch.length;
    this.stats.sent_frames++;
    // A big batch goes as pieces written back to back (the stream buffers
    // them): the receiver needs them with nothing in between.
    for (const frame of framesOf(encoded)) this.writable = this.call.write(frame);
  }

  private markDown(): void {
    this.stats.dropped_messages += this.queue.length;
    this.queue = [];
    this.state = 'down';
    const delay_ms = this.backoff_ms;
    this.backoff_ms = Math.min(this.backoff_ms * 2, this.options.reconnect_ms_max);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state !== 'down') return;
      this.stats.reconnects++;
      this.state = 'idle'; // the next send opens a new stream
    }, delay_ms);
  }

  /** The peer answered (we received a message from it): reset the backoff. */
  noteAlive(): void {
    this.backoff_ms = this.options.reconnect_ms_min;
  }

  close(): void {
    this.state = 'closed';
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.queue = [];
    const call = this.call;
    this.call = null;
    call?.end();
    this.client.close();
  }
}
