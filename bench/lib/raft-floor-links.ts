/**
 * The floor probe's connections (raft-floor.ts, raft-floor-peer.ts), in two
 * kinds, so that the probe can say how much of a commit's cost is the wire
 * protocol:
 *   tcp:  raw TCP, each frame a u32 length (little-endian) then the bytes;
 *   grpc: one grpc-js bidirectional stream per connection, identity
 *         serializers, the same channel and server options as the Raft
 *         transport and the KV client (src/raft/transport/grpc-options.ts).
 * Either way a server answers on the connection a frame came in on.
 */
import * as grpc from '@grpc/grpc-js';
import net from 'node:net';
import { channelOptions, identity, serverOptions } from '../../src/raft/transport/grpc-options.ts';

export type FloorWire = 'tcp' | 'grpc';
export const FLOOR_WIRES: readonly FloorWire[] = ['tcp', 'grpc'];

export interface FloorLink {
  write(frame: Buffer): void;
  close(): void;
}

type OnFrame = (frame: Buffer, reply: (answer: Buffer) => void) => void;

const FLOOR_PIPE_PATH = '/zkp.floor.Floor/Pipe';
const FLOOR_SERVICE: grpc.ServiceDefinition = {
  Pipe: {
    path: FLOOR_PIPE_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** Calls onFrame with each complete length-prefixed frame received on `socket`. */
function readFrames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32LE(0);
      if (pending.length < 4 + length) break;
      onFrame(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
    }
  });
}

function writeFrame(socket: net.Socket, payload: Buffer): void {
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, 4);
  socket.write(frame);
}

/** Listens on a free loopback port; resolves with the port. */
export function serveFrames(wire: FloorWire, onFrame: OnFrame): Promise<number> {
  if (wire === 'tcp') {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      readFrames(socket, (frame) => onFrame(frame, (answer) => writeFrame(socket, answer)));
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  }
  const server = new grpc.Server(serverOptions);
  server.addService(FLOOR_SERVICE, {
    Pipe: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (frame: Buffer) => onFrame(frame, (answer) => call.write(answer)));
      call.on('error', () => {}); // the other end went away: the probe is over
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error === null ? resolve(port) : reject(error))),
  );
}

/** Connects to a serveFrames port; frames answered on it go to onFrame. */
export async function connectFrames(wire: FloorWire, port: number, onFrame: (frame: Buffer) => void): Promise<FloorLink> {
  if (wire === 'tcp') {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    readFrames(socket, onFrame);
    return { write: (frame) => writeFrame(socket, frame), close: () => socket.destroy() };
  }
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions(50, 500));
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error === undefined ? resolve() : reject(error))));
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(FLOOR_PIPE_PATH, identity, identity);
  call.on('data', onFrame);
  call.on('error', () => {}); // closed at the end of the probe
  return {
    write: (frame) => call.write(frame),
    close: () => {
      call.cancel();
      client.close();
    },
  };
}
