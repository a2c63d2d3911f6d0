import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import { Writer } from '../../src/raft/codec.ts';
import { BATCH_BYTES_MAX, BatchAssembler, framesOf, PIECE_BYTES } from '../../src/raft/transport/frames.ts';
import { GrpcTransport, type DriverLogger } from '../../src/raft/transport/index.ts';
import { LogLimiter } from '../../src/raft/transport/log-limiter.ts';
import { RAFT_STREAM_PATH } from '../../src/raft/transport/peer-sender.ts';
import { checkStream, streamMetadata } from '../../src/raft/transport/stream-identity.ts';
import type { Message } from '../../src/raft/types.ts';

async function waitFor(check: () => boolean, timeout_ms: number, what: string): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const open: GrpcTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** A logger that keeps what is logged at error level (with its fields), for tests that check what an operator sees. */
function errorRecorder(): { logger: DriverLogger; errors: { msg: string; fields: Record<string, unknown> }[] } {
  const errors: { msg: string; fields: Record<string, unknown> }[] = [];
  const ignore = () => {};
  return {
    errors,
    logger: { debug: ignore, info: ignore, warn: ignore, error: (fields, msg) => errors.push({ msg: msg ?? '', fields: fields as Record<string, unknown> }) },
  };
}

function heartbeat(from: string, to: string, term: number): Message {
  return { type: 'heartbeat', from, to, term, commit: term, context: new Uint8Array([term & 0xff]) };
}

/** Transports a and b on loopback, started; a sends (with `senderOptions`), b records what it receives. */
async function startedPair(senderOptions: { reconnect_ms_min?: number; reconnect_ms_max?: number } = {}) {
  const [portA, portB] = [await freePort(), await freePort()];
  const peers = new Map([
    ['a', `127.0.0.1:${portA}`],
    ['b', `127.0.0.1:${portB}`],
  ]);
  const receivedB: Message[] = [];
  const a = new GrpcTransport({ selfId: 'a', clusterId: 'test', listenAddress: peers.get('a')!, peers, onMessages: () => {}, ...senderOptions });
  const b = new GrpcTransport({ selfId: 'b', clusterId: 'test', listenAddress: peers.get('b')!, peers, onMessages: (m) => receivedB.push(...m) });
  open.push(a, b);
  await a.start();
  await b.start();
  return { peers, a, b, receivedB };
}

describe('GrpcTransport', () => {
  it('delivers batches between two nodes in order, drops while a peer is down, resumes after it returns', async () => {
    const pair = await startedPair({ reconnect_ms_min: 20, reconnect_ms_max: 100 });
    const { peers, a, receivedB } = pair;
    let b = pair.b;

    for (let term = 1; term <= 100; term++) a.send([heartbeat('a', 'b', term)]);
    await waitFor(() => receivedB.length === 100, 5000, '100 messages at b');
    expect(receivedB.map((m) => m.term)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(receivedB[0]).toEqual(heartbeat('a', 'b', 1));

    // b goes away: sends fail and get dropped rather than buffered.
    await b.close();
    open.splice(open.indexOf(b), 1);
    await waitFor(
      () => {
        a.send([heartbeat('a', 'b', 500)]);
        return a.stats().b!.dropped_messages > 0;
      },
      5000,
      'drops while b is down',
    );

    // b comes back on the same address: a reconnects by itself.
    const afterRestart: Message[] = [];
    b = new GrpcTransport({ selfId: 'b', clusterId: 'test', listenAddress: peers.get('b')!, peers, onMessages: (m) => afterRestart.push(...m) });
    open.push(b);
    await b.start();
    await waitFor(
      () => {
        a.send([heartbeat('a', 'b', 900)]);
        return afterRestart.length > 0;
      },
      5000,
      'delivery after b restarts',
    );
    expect(afterRestart[0]!.term).toBe(900);
    expect(a.stats().b!.reconnects).toBeGreaterThan(0);
  });

  it('carries a snapshot larger than one gRPC message (150 MiB) in pieces, and the small messages around it in order', async () => {
    const { a, receivedB } = await startedPair();
    const data = new Uint8Array(150 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff; // a pattern, so a misplaced piece shows
    data[data.length - 1] = 0x5a;
    const snapshot: Message = {
      type: 'snapshot',
      from: 'a',
      to: 'b',
      term: 7,
      snapshot: { metadata: { index: 900, term: 7, conf: { voters: ['a', 'b'], learners: [] } }, data },
    };
    a.send([heartbeat('a', 'b', 6)]);
    a.send([snapshot]);
    a.send([heartbeat('a', 'b', 8)]);
    await waitFor(() => receivedB.length === 3, 30_000, 'the snapshot and the heartbeats at b');
    expect(receivedB.map((m) => m.type)).toEqual(['heartbeat', 'snapshot', 'heartbeat']);
    const got = receivedB[1]!.snapshot!;
    expect(got.metadata).toEqual(snapshot.snapshot!.metadata);
    expect(got.data.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(data.buffer))).toBe(0);
    expect(a.stats().b!.dropped_messages).toBe(0);
  }, 60_000);

  it('refuses pieces out of order, a batch above the limit, and a whole batch in the middle of one, then takes the next batch', () => {
    const batch = new Uint8Array(PIECE_BYTES * 2 + 10).fill(3);
    batch[0] = 1;
    const pieces = framesOf(batch);
    expect(pieces.length).toBe(3);
    const assembler = new BatchAssembler();
    expect(() => assembler.accept(pieces[1]!)).toThrow(/piece at 8388608 of a 16777226-byte batch does not follow the 0 bytes received/);
    expect(assembler.accept(pieces[0]!)).toBeNull();
    expect(() => assembler.accept(Buffer.from([1, 2, 3]))).toThrow(/a whole batch arrived while a batch of 16777226 bytes had 8388608 bytes in/);
    const huge = new Writer(16);
    huge.byte(0);
    huge.varuint(BATCH_BYTES_MAX + 1);
    huge.varuint(0);
    expect(() => assembler.accept(Buffer.from(huge.finish()))).toThrow(/above the 1073741824-byte limit/);
    for (const piece of pieces.slice(0, 2)) expect(assembler.accept(piece)).toBeNull();
    expect(Buffer.compare(assembler.accept(pieces[2]!)!, Buffer.from(batch))).toBe(0);
    expect(assembler.accept(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([1, 2, 3]));
  });

  it('bounds what it holds for a peer that accepts connections but never answers: drops beyond the queue', async () => {
    // A TCP listener that never speaks HTTP/2: the stream stays "connecting" and pushes back.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    const peers = new Map([
      ['a', `127.0.0.1:${await freePort()}`],
      ['b', `127.0.0.1:${port}`],
    ]);
    const a = new GrpcTransport({ selfId: 'a', clusterId: 'test', listenAddress: peers.get('a')!, peers, onMessages: () => {}, queue_messages_max: 100 });
    open.push(a);
    await a.start();
    for (let i = 0; i < 1000; i++) a.send([heartbeat('a', 'b', i + 1)]);
    const stats = a.stats().b!;
    console.log(`silent peer: ${JSON.stringify(stats)}`);
    // grpc-js takes a few frames before write() reports backpressure; then at most 100 wait; the rest are dropped.
    expect(stats.sent_frames).toBeLessThan(50);
    expect(stats.dropped_messages).toBeGreaterThanOrEqual(1000 - stats.sent_messages - 100);
    expect(stats.dropped_messages).toBeGreaterThan(800);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('refuses a stream from a node of another cluster, says why on both sides once, and delivers nothing', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const peers = new Map([
      ['a', `127.0.0.1:${portA}`],
      ['b', `127.0.0.1:${portB}`],
    ]);
    const sender = errorRecorder();
    const receiver = errorRecorder();
    const receivedB: Message[] = [];
    const a = new GrpcTransport({
      selfId: 'a',
      clusterId: 'old-cluster',
      listenAddress: peers.get('a')!,
      peers,
      onMessages: () => {},
      reconnect_ms_min: 10,
      reconnect_ms_max: 40,
      logger: sender.logger,
    });
    const b = new GrpcTransport({
      selfId: 'b',
      clusterId: 'prod',
      listenAddress: peers.get('b')!,
      peers,
      onMessages: (m) => receivedB.push(...m),
      logger: receiver.logger,
    });
    open.push(a, b);
    await a.start();
    await b.start();
    // Keep sending for a while: a retries every 40 ms at most, so it is refused many times.
    const until = Date.now() + 600;
    await waitFor(
      () => {
        a.send([heartbeat('a', 'b', 9)]);
        return Date.now() > until && a.stats().b!.refusals >= 3;
      },
      5000,
      'several refusals',
    );
    expect(receivedB).toEqual([]);
    expect(b.refused_streams).toBeGreaterThanOrEqual(3);
    const expected =
      /node "a" of cluster "old-cluster" \(at .+\) sent to node "b" of cluster "prod": refused; every node of one cluster must run with the same --cluster-id/;
    // Logged once on each side however often it retries (at most once per 10 s).
    expect(receiver.errors).toHaveLength(1);
    expect(receiver.errors[0]!.msg).toBe('refused a raft stream');
    expect(receiver.errors[0]!.fields.reason).toMatch(expected);
    expect(sender.errors).toHaveLength(1);
    expect(sender.errors[0]!.msg).toBe("raft peer refused this node's stream");
    expect(sender.errors[0]!.fields).toMatchObject({ peer: 'b', address: peers.get('b') });
    expect(sender.errors[0]!.fields.reason).toMatch(expected);
  });

  it('refuses a stream meant for another node (peers give b the address of c) and one without identity', async () => {
    const [portA, portC] = [await freePort(), await freePort()];
    // a's peers name b at c's address.
    const peersOfA = new Map([
      ['a', `127.0.0.1:${portA}`],
      ['b', `127.0.0.1:${portC}`],
    ]);
    const receiver = errorRecorder();
    const receivedC: Message[] = [];
    const a = new GrpcTransport({
      selfId: 'a',
      clusterId: 'test',
      listenAddress: peersOfA.get('a')!,
      peers: peersOfA,
      onMessages: () => {},
      reconnect_ms_min: 10,
      reconnect_ms_max: 40,
    });
    const c = new GrpcTransport({
      selfId: 'c',
      clusterId: 'test',
      listenAddress: `127.0.0.1:${portC}`,
      peers: new Map([['a', peersOfA.get('a')!]]),
      onMessages: (m) => receivedC.push(...m),
      logger: receiver.logger,
    });
    open.push(a, c);
    await a.start();
    await c.start();
    await waitFor(
      () => {
        a.send([heartbeat('a', 'b', 3)]);
        return a.stats().b!.refusals >= 1;
      },
      5000,
      'a refusal',
    );
    expect(receivedC).toEqual([]);
    expect(receiver.errors[0]!.fields.reason).toMatch(
      /node "a" \(at .+\) sent a stream meant for node "b" to node "c": refused; the sender's --peers gives "b" this node's address/,
    );

    // A client that speaks the method but sends no identity (another program, an older node).
    const client = new grpc.Client(`127.0.0.1:${portC}`, grpc.credentials.createInsecure());
    const refused = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = client.makeClientStreamRequest<Buffer, Buffer>(
        RAFT_STREAM_PATH,
        (x) => x,
        (x) => x,
        (error) => resolve(error),
      );
      call.on('error', () => {});
      call.write(Buffer.from([1, 2, 3]));
    });
    client.close();
    expect(refused?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(refused?.details).toMatch(/names no cluster and node ids \(not a zkp-cluster node of this version\?\); node "c" of cluster "test" refuses it/);
    expect(receivedC).toEqual([]);
    expect(c.rejected_frames).toBe(0); // refused before any frame was read
  });

  it('names a refusal by sender, not by its port, so one sender reconnecting is logged once per interval', () => {
    const self = { clusterId: 'prod', nodeId: 'b' };
    const foreign = streamMetadata({ clusterId: 'staging', nodeId: 'a' }, 'b');
    const first = checkStream(foreign, self, '127.0.0.1:40001');
    const second = checkStream(foreign, self, '127.0.0.1:40002');
    expect(first.ok || second.ok).toBe(false);
    if (first.ok || second.ok) return;
    expect(first.reason).not.toBe(second.reason); // each names the port it came from
    expect(first.key).toBe(second.key);
    const misrouted = checkStream(streamMetadata({ clusterId: 'prod', nodeId: 'a' }, 'c'), self, '127.0.0.1:40003');
    expect(misrouted.ok).toBe(false);
    if (!misrouted.ok) expect(misrouted.key).not.toBe(first.key);
    expect(checkStream(streamMetadata({ clusterId: 'prod', nodeId: 'a' }, 'b'), self, '127.0.0.1:40004')).toEqual({ ok: true, from: 'a' });

    const limiter = new LogLimiter(10_000);
    expect(limiter.allow(first.key, 1_000)).toBe(true);
    expect(limiter.allow(second.key, 5_000)).toBe(false);
    expect(limiter.allow('another', 5_000)).toBe(true);
    expect(limiter.allow(first.key, 11_000)).toBe(true);
  });
});
