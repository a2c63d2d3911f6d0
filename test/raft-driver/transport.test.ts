import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcTransport } from '../../src/raft/transport/index.ts';
import type { Message } from '../../src/raft/types.ts';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

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

describe('GrpcTransport', () => {
  it('delivers batches between two nodes in order, drops while a peer is down, resumes after it returns', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const peers = new Map([
      ['a', `127.0.0.1:${portA}`],
      ['b', `127.0.0.1:${portB}`],
    ]);
    const receivedB: Message[] = [];
    const a = new GrpcTransport({ selfId: 'a', listenAddress: peers.get('a')!, peers, onMessages: () => {}, reconnect_ms_min: 20, reconnect_ms_max: 100 });
    let b = new GrpcTransport({ selfId: 'b', listenAddress: peers.get('b')!, peers, onMessages: (m) => receivedB.push(...m) });
    open.push(a, b);
    await a.start();
    await b.start();

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
