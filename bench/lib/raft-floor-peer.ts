/**
 * One process of the floor probe (raft-floor.ts), forked by it: the least work
 * a replicated commit can take on this host, with no Raft and no batching.
 *   follower <wire> <dir>: for each request, one O_DSYNC write of a 300-byte record
 *     on the thread pool, then an ack to the sender.
 *   leader <wire> <dir> <follower port>...: for each request from the client, sends
 *     it to every follower, writes its own record the same way, and answers
 *     the client once its own write and one follower's ack are done (a
 *     majority of three).
 * The connections are raw TCP or grpc-js streams (raft-floor-links.ts). Each
 * process reports its listening port to the parent over IPC.
 */
import fs from 'node:fs';
import path from 'node:path';
import { connectFrames, FLOOR_WIRES, serveFrames, type FloorWire } from './raft-floor-links.ts';

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

function follower(wire: FloorWire, dir: string): Promise<number> {
  const log = new SyncedLog(dir);
  return serveFrames(wire, (frame, reply) => {
    const id = Buffer.from(frame);
    log.write(() => reply(id));
  });
}

async function leader(wire: FloorWire, dir: string, followerPorts: number[]): Promise<number> {
  const log = new SyncedLog(dir);
  interface Pending {
    acks: number;
    ownDone: boolean;
    readonly reply: (answer: Buffer) => void;
  }
  const pending = new Map<number, Pending>();
  const maybeAnswer = (id: number): void => {
    const p = pending.get(id);
    if (p === undefined || !p.ownDone || p.acks < 1) return;
    pending.delete(id);
    const answer = Buffer.allocUnsafe(4);
    answer.writeUInt32LE(id, 0);
    p.reply(answer);
  };
  const followers = await Promise.all(
    followerPorts.map((port) =>
      connectFrames(wire, port, (frame) => {
        const id = frame.readUInt32LE(0);
        const p = pending.get(id);
        if (p === undefined) return;
        p.acks++;
        maybeAnswer(id);
      }),
    ),
  );
  return serveFrames(wire, (frame, reply) => {
    const id = frame.readUInt32LE(0);
    pending.set(id, { acks: 0, ownDone: false, reply });
    for (const link of followers) link.write(frame);
    log.write(() => {
      const p = pending.get(id);
      if (p === undefined) return;
      p.ownDone = true;
      maybeAnswer(id);
    });
  });
}

// The bench stopped or died (its IPC channel closed): do not linger as an orphan.
process.on('disconnect', () => process.exit(0));

const [role, wire, dir, ...ports] = process.argv.slice(2);
const usage = `raft-floor-peer: usage: follower <${FLOOR_WIRES.join('|')}> <dir> | leader <${FLOOR_WIRES.join('|')}> <dir> <follower port>...; got ${process.argv.slice(2).join(' ')}`;
if (!FLOOR_WIRES.includes(wire as FloorWire) || dir === undefined) throw new Error(usage);
const listening =
  role === 'follower'
    ? follower(wire as FloorWire, dir)
    : role === 'leader'
      ? leader(wire as FloorWire, dir, ports.map(Number))
      : Promise.reject(new Error(usage));
// Each process reports its listening port to the parent over IPC.
listening.then((port) => process.send!(port));
