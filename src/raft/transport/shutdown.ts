import type { Server } from '@grpc/grpc-js';

/**
 * Stops a gRPC server: a graceful shutdown, forced after `grace_ms` so that a
 * peer holding a stream open cannot keep a closing node alive.
 */
export function shutdownServer(server: Server, grace_ms = 500): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, grace_ms);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
