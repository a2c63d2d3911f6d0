import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../bench/lib/raft-cluster.ts';
import { Writer } from '../../src/raft/codec.ts';
import { BATCH_BYTES_MAX, BatchAssembler, framesOf, PIECE_BYTES } from '../../src/raft/transport/frames.ts';
import { GrpcTransport } from '../../src/raft/transport/index.ts';
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
  const a = new GrpcTransport({ selfId: 'a', listenAddress: peers.get('a')!, peers, onMessages: () => {}, ...senderOptions });
  const b = new GrpcTransport({ selfId: 'b', listenAddress: peers.get('b')!, peers, onMessages: (m) => receivedB.push(...m) });
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
        return a.stats()['b']!.dropped_messages > 0;
      },
      5000,
      'drops while b is down',
    );

    // b comes back on the same address: a reconnects by itself.
    const afterRestart: Message[] = [];
    b = new GrpcTransport({ selfId: 'b', listenAddress: peers.get('b')!, peers, onMessages: (m) => afterRestart.push(...m) });
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
    expect(a.stats()['b']!.reconnects).toBeGreaterThan(0);
  });

  it('carries a snapshot larger than one gRPC message (150 MiB) in pieces, and the small messages around it in order', async () => {
    const { a, receivedB } = await startedPair();
    const data = new Uint8Array(150 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff; // a pattern, so a misplaced piece shows
    data[data.length - 1] = 0x5a;
    const snapshot: Message = { type: 'snapshot', from: 'a', to: 'b', term: 7, snapshot: { metadata: { index: 900, term: 7, conf: { voters: ['a', 'b'], learners: [] } }, data } };
    a.send([heartbeat('a', 'b', 6)]);
    a.send([snapshot]);
    a.send([heartbeat('a', 'b', 8)]);
    await waitFor(() => receivedB.length === 3, 30_000, 'the snapshot and the heartbeats at b');
    expect(receivedB.map((m) => m.type)).toEqual(['heartbeat', 'snapshot', 'heartbeat']);
    const got = receivedB[1]!.snapshot!;
    expect(got.metadata).toEqual(snapshot.snapshot!.metadata);
    expect(got.data.length).toBe(data.length);
    expect(Buffer.compare(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength), Buffer.from(data.buffer))).toBe(0);
    expect(a.stats()['b']!.dropped_messages).toBe(0);
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
    const a = new GrpcTransport({ selfId: 'a', listenAddress: peers.get('a')!, peers, onMessages: () => {}, queue_messages_max: 100 });
    open.push(a);
    await a.start();
    for (let i = 0; i < 1000; i++) a.send([heartbeat('a', 'b', i + 1)]);
    const stats = a.stats()['b']!;
    console.log(`silent peer: ${JSON.stringify(stats)}`);
    // grpc-js takes a few frames before write() reports backpressure; then at most 100 wait; the rest are dropped.
    expect(stats.sent_frames).toBeLessThan(50);
    expect(stats.dropped_messages).toBeGreaterThanOrEqual(1000 - stats.sent_messages - 100);
    expect(stats.dropped_messages).toBeGreaterThan(800);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});
