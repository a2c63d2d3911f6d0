/** Coordinator processes for the tests: spawned with tsx from src/coordinator/process-main.ts, ready when they print their "ready" line. */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/net/free-port.ts';
import { sleep, tempDir } from './service-harness.ts';

const PROCESS_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/coordinator/process-main.ts');

export interface CoordinatorProcess {
  readonly id: string;
  readonly raftPort: number;
  readonly grpcPort: number;
  readonly dataDir: string;
  child: ChildProcess | null;
  http: string;
  events: Record<string, unknown>[];
  stderr: string;
  exit: Promise<number | null> | null;
}

export class ProcessCluster {
  readonly nodes: CoordinatorProcess[] = [];
  private constructor(
    readonly dir: string,
    private readonly peersFlag: string,
    private readonly extra: readonly string[],
  ) {}

  static async start(size: number, extra: readonly string[] = []): Promise<ProcessCluster> {
    const dir = tempDir('zkp-coord-proc');
    const specs: { id: string; raftPort: number; grpcPort: number }[] = [];
    for (let i = 0; i < size; i++) specs.push({ id: `p${i + 1}`, raftPort: await freePort(), grpcPort: await freePort() });
    const peers = specs.map((s) => `${s.id}@127.0.0.1:${s.raftPort}/127.0.0.1:${s.grpcPort}`).join(',');
    const cluster = new ProcessCluster(dir, peers, extra);
    for (const spec of specs) cluster.nodes.push({ ...spec, dataDir: path.join(dir, spec.id), child: null, http: '', events: [], stderr: '', exit: null });
    await Promise.all(cluster.nodes.map((node) => cluster.startNode(node.id)));
    return cluster;
  }

  node(id: string): CoordinatorProcess {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no coordinator process ${id}`);
    return node;
  }

  addresses(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.grpcPort}`);
  }

  /** Starts (or restarts) a coordinator and resolves once it printed "ready". */
  async startNode(id: string): Promise<void> {
    const node = this.node(id);
    const args = [
      '--import',
      'tsx',
      PROCESS_MAIN,
      '--id',
      id,
      '--cluster-id',
      'proc-test',
      '--data-dir',
      node.dataDir,
      '--peers',
      this.peersFlag,
      '--log-level',
      'warn',
      ...this.extra,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.events = [];
    node.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    let buffered = '';
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (data: Buffer) => {
        buffered += data.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          try {
            const event = JSON.parse(line) as Record<string, unknown>;
            node.events.push({ ...event, at_ms: Date.now() });
            if (event.event === 'ready') {
              node.http = String(event.http);
              resolve();
            }
          } catch {
            // not an event line
          }
        }
      });
      child.stderr!.on('data', (data: Buffer) => {
        node.stderr = (node.stderr + data.toString('utf8')).slice(-20_000);
      });
      child.on('exit', (code) => reject(new Error(`coordinator ${id} exited (${code}) before it was ready: ${node.stderr}`)));
    });
    await ready;
  }

  kill9(id: string): void {
    const node = this.node(id);
    node.child?.kill('SIGKILL');
    node.child = null;
  }

  async health(id: string, timeout_ms = 500): Promise<Record<string, unknown> | null> {
    const node = this.node(id);
    if (node.child === null) return null;
    try {
      const response = await fetch(`http://${node.http}/health`, { signal: AbortSignal.timeout(timeout_ms) });
      return (await response.json()) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  /** The id of the coordinator that says it leads (among the running ones), polling until timeout_ms. */
  async leader(timeout_ms = 10_000, except: string | null = null): Promise<string> {
    const until = Date.now() + timeout_ms;
    while (Date.now() < until) {
      for (const node of this.nodes) {
        if (node.child === null || node.id === except) continue;
        const health = await this.health(node.id);
        if ((health?.raft as { is_leader?: boolean } | undefined)?.is_leader === true) return node.id;
      }
      await sleep(10);
    }
    throw new Error('no coordinator process leads');
  }

  async close(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        const child = node.child;
        node.child = null;
        if (child === null) return;
        child.kill('SIGTERM');
        await Promise.race([node.exit, sleep(5_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
