/**
 * Test helpers for the store: a throwaway database on the real PostgreSQL
 * server, a fresh embedded data directory (copied from a template), a TCP relay that can cut the store off from its database and let
 * it back, raw SQL for checking what the store wrote, and random content.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { SeededRandom } from '../helpers/random.ts';

export const POSTGRES_ADMIN_URL = process.env.ZKP_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export interface TemporaryDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE zkp_test_<random> on the test server; drop() removes it (closing connections still open). */
export async function createTemporaryDatabase(): Promise<TemporaryDatabase> {
  const name = `zkp_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** One statement on a fresh connection, for checking what the store wrote. */
export async function sql<Row extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** `url` with its host and port replaced (to point a store at a relay or a closed port). */
export function withHostPort(url: string, host: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = host;
  parsed.port = String(port);
  return parsed.toString();
}

/**
 * A loopback TCP relay in front of a database: `cut()` closes every relayed
 * connection and refuses new ones (the database "goes down"); `restore()`
 * accepts again. The listening port stays the same throughout.
 */
export class Relay {
  private readonly sockets = new Set<net.Socket>();
  private accepting = true;
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<Relay> {
    let relay: Relay | undefined;
    const server = net.createServer((client) => {
      if (relay === undefined || !relay.accepting) {
        client.destroy();
        return;
      }
      const upstream = net.connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        relay.sockets.add(socket);
        socket.on('error', () => {});
        socket.on('close', () => {
          relay?.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new Relay(server, (server.address() as net.AddressInfo).port);
    return relay;
  }

  cut(): void {
    this.accepting = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.accepting = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP server that accepts connections and never answers (a hung database host). */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function randomContent(random: SeededRandom, length: number): Buffer {
  const content = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += 4) {
    const word = random.nextUint32();
    for (let byte = 0; byte < 4 && offset + byte < length; byte++) content[offset + byte] = (word >>> (byte * 8)) & 0xff;
  }
  return content;
}

/** `content` as an async stream of pieces of random sizes (1 to max_piece_bytes). */
export async function* randomPieces(random: SeededRandom, content: Buffer, max_piece_bytes: number): AsyncGenerator<Uint8Array> {
  let offset = 0;
  while (offset < content.length) {
    const size = 1 + random.int(max_piece_bytes);
    yield new Uint8Array(content.subarray(offset, offset + size));
    offset += size;
    await Promise.resolve();
  }
}

/**
 * A new directory for startEmbeddedDatabase holding a freshly initialised
 * PGlite database. Initialising one costs PGlite 5-15 s (initdb in WASM),
 * so the first call on a machine builds a template under os.tmpdir(), keyed
 * by the PGlite version, and every call copies it (well under a second).
 * The template is built in a directory of its own and renamed into place
 * when complete, so concurrent test files never see half of one.
 */
export async function freshEmbeddedDataDir(): Promise<string> {
  const template = path.join(tmpdir(), `zkp-test-pglite-template-${pgliteVersion()}`);
  if (!existsSync(path.join(template, TEMPLATE_COMPLETE))) {
    const building = mkdtempSync(path.join(tmpdir(), 'zkp-test-pglite-building-'));
    const db = await PGlite.create({ dataDir: path.join(building, 'pgdata') });
    await db.close();
    writeFileSync(path.join(building, TEMPLATE_COMPLETE), '');
    try {
      renameSync(building, template);
    } catch {
      rmSync(building, { recursive: true, force: true }); // another test file finished one first
    }
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zkp-store-embedded-'));
  cpSync(path.join(template, 'pgdata'), path.join(dataDir, 'pgdata'), { recursive: true });
  return dataDir;
}

const TEMPLATE_COMPLETE = 'COMPLETE';

function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = JSON.parse(readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
