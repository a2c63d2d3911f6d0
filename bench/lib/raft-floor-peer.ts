/**
 * One process of the floor probe (raft-floor.ts), forked by it: the least work
 * a replicated commit can take on this host, with no Raft, no gRPC and no
 * batching.
 *   follower <dir>: for each request, one O_DSYNC write of a 300-byte record
 *     on the thread pool, then an ack to the sender.
 *   leader <dir> <follower port>...: for each request from the client, sends
 *     it to every follower, writes its own record the same way, and answers
 *     the client once its own write and one follower's ack are done (a
 *     majority of three).
 * Frames on the TCP connections: u32 length (little-endian), then the bytes.
 * Each process reports its listening port to the parent over IPC.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { readFrames, writeFrame } from './raft-floor-frames.ts';

const RECORD = Buffer.alloc(300, 7);
const LOG_BYTES = 32 * 1024 * 1024; // written round and round: 20 s at 1,000 commits/s is 6 MB

/** A preallocated log file written through an O_DSYNC descriptor, as the Raft storage does. */
class SyncedLog {
  private readonly fd: number;
  private position = 0;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'log');
    fs.writeFileSync(file, Buffer.alloc(LOG_BYTES));
    const plain = fs.openSync(file, 'r');
    fs.fsyncSync(plain);
    fs.closeSync(plain);
    this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_DSYNC);
  }

  write(done: () => void): void {
    const at = this.position;
    this.position = (this.position + RECORD.length) % (LOG_BYTES - RECORD.length);
    fs.write(this.fd, RECORD, 0, RECORD.length, at, (error) => {
      if (error !== null) throw error;
      done();
    });
  }
}

function listen(server: net.Server): void {
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as net.AddressInfo).port));
}

function follower(dir: string): void {
  const log = new SyncedLog(dir);
  listen(
    net.createServer((socket) => {
      socket.setNoDelay(true);
      readFrames(socket, (frame) => {
        const id = Buffer.from(frame);
        log.write(() => writeFrame(socket, id));
      });
    }),
  );
}

function leader(dir: string, followerPorts: number[]): void {
  const log = new SyncedLog(dir);
  interface Pending {
    acks: number;
    ownDone: boolean;
    readonly client: net.Socket;
  }
  const pending = new Map<number, Pending>();
  const maybeAnswer = (id: number): void => {
    const p = pending.get(id);
    if (p === undefined || !p.ownDone || p.acks < 1) return;
    pending.delete(id);
    const reply = Buffer.allocUnsafe(4);
    reply.writeUInt32LE(id, 0);
    writeFrame(p.client, reply);
  };
  const followers = followerPorts.map((port) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    readFrames(socket, (frame) => {
      const id = frame.readUInt32LE(0);
      const p = pending.get(id);
      if (p === undefined) return;
      p.acks++;
      maybeAnswer(id);
    });
    return socket;
  });
  listen(
    net.createServer((client) => {
      client.setNoDelay(true);
      readFrames(client, (frame) => {
        const id = frame.readUInt32LE(0);
        pending.set(id, { acks: 0, ownDone: false, client });
        for (const socket of followers) writeFrame(socket, frame);
        log.write(() => {
          const p = pending.get(id);
          if (p === undefined) return;
          p.ownDone = true;
          maybeAnswer(id);
        });
      });
    }),
  );
}

// The bench stopped or died (its IPC channel closed): do not linger as an orphan.
process.on('disconnect', () => process.exit(0));

const [role, dir, ...ports] = process.argv.slice(2);
if (role === 'follower' && dir !== undefined) follower(dir);
else if (role === 'leader' && dir !== undefined) leader(dir, ports.map(Number));
else throw new Error(`raft-floor-peer: usage: follower <dir> | leader <dir> <follower port>...; got ${process.argv.slice(2).join(' ')}`);
