/**
 * The floor under the Raft commit latency on this host: three processes on
 * loopback doing only what any replicated commit must (client -> leader ->
 * two followers, an O_DSYNC write on each of the three, an ack back once the
 * leader's write and one follower's are durable), with no Raft or batching
 * (raft-floor-peer.ts), over raw TCP or over grpc-js streams
 * (raft-floor-links.ts): the second says how much of the gap is the wire. bench/raft.ts drives it with the same
 * open-loop generator and latency accounting as its (b), so the two
 * distributions compare directly: what (b) adds to the floor is the cost of
 * the implementation; the floor itself is the host (scheduler, disk, VM).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpu_ms } from './proc-cpu.ts';
import { connectFrames, type FloorWire } from './raft-floor-links.ts';
import type { Putter } from './raft-load.ts';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'raft-floor-peer.ts');

export interface FloorPipeline extends Putter {
  /** CPU ms so far of the leader and the two followers (Linux; null elsewhere). */
  cpu_ms(): { leader: number; followers: number[] } | null;
  close(): Promise<void>;
}

function startPeer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = fork(PEER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (port) => resolve({ child, port: Number(port) }));
    child.once('exit', (code, signal) => reject(new Error(`floor probe peer ${args[0]} exited (${code ?? signal}) before listening`)));
  });
}

export async function startFloorPipeline(wire: FloorWire): Promise<FloorPipeline> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'raft-floor-'));
  const followers = [await startPeer(['follower', wire, path.join(base, 'f1')]), await startPeer(['follower', wire, path.join(base, 'f2')])];
  const leader = await startPeer(['leader', wire, path.join(base, 'leader'), ...followers.map((f) => String(f.port))]);
  const waiting = new Map<number, (index: number) => void>();
  let nextId = 0;
  const link = await connectFrames(wire, leader.port, (frame) => {
    const id = frame.readUInt32LE(0);
    const resolve = waiting.get(id);
    waiting.delete(id);
    resolve?.(id);
  });
  const everyone = [leader, ...followers];
  return {
    put(): Promise<number> {
      const id = nextId;
      nextId = (nextId + 1) >>> 0;
      const request = Buffer.allocUnsafe(4);
      request.writeUInt32LE(id, 0);
      const answered = new Promise<number>((resolve) => waiting.set(id, resolve));
      link.write(request);
      return answered;
    },
    cpu_ms() {
      const cpu = everyone.map((p) => (p.child.pid === undefined ? null : processCpu_ms(p.child.pid)));
      if (cpu.some((c) => c === null)) return null;
      return { leader: cpu[0]!, followers: [cpu[1]!, cpu[2]!] };
    },
    async close(): Promise<void> {
      link.close();
      await Promise.all(
        everyone.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
              p.child.once('exit', () => resolve());
              p.child.kill('SIGKILL');
            }),
        ),
      );
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}
