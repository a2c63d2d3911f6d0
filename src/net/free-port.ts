/**
 * Choosing loopback ports for local clusters (the dev cluster, tests, benches).
 */
import fs from 'node:fs';
import net from 'node:net';

/** The kernel's range of ephemeral (source) ports; Linux's default where it cannot be read. */
function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

/** Resolves with the port if it could be bound on 127.0.0.1 (and released again), else null. */
export function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : null));
    });
  });
}

/**
 * A loopback port nothing listens on, chosen below the kernel's ephemeral
 * range. A process restarted on its port must find it free again, and a port
 * from listen(0) lies in that range, where any outgoing connection may take
 * it as its source port meanwhile (CI once failed a restart with EADDRINUSE
 * that way).
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralPortRange();
  const first = 10_000;
  if (low - first >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await tryListen(first + Math.floor(Math.random() * (low - first)));
      if (port !== null) return port;
    }
  }
  const any = await tryListen(0);
  if (any === null) throw new Error('no free loopback port');
  return any;
}
