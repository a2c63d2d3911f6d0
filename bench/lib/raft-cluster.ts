/**
 * Runs a Raft cluster of real node processes (src/raft/kv/kv-node-main.ts,
 * compiled into dist/ by `npm run build`) on loopback, for the cluster tests and bench/raft.ts: free ports, temp
 * data dirs, kill -9 and restart of single nodes, and the nodes' stdout events
 * (leader changes) time-stamped on arrival in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/net/free-port.ts';
import { compiledEntry } from '../../scripts/build-dist.ts';

/** The compiled node (dist/), as users run it: no TypeScript compiler in the measured processes. */
const NODE_MAIN_SOURCE = 'src/raft/kv/kv-node-main.ts';

export interface NodeEvent {
  readonly at_ms: number; // performance.now() in this process when the line arrived
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface ClusterNode {
  readonly id: string;
  readonly raftPort: number;
  readonly clientPort: number;
  readonly dataDir: string;
  /** Started with --join (added to the running cluster later); its --peers also names itself. */
  readonly joins?: boolean;
  child: ChildProcess | null;
  events: NodeEvent[];
  stderr: string;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly tick_ms?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly snapshotEvery_entries?: number;
  readonly logLevel?: string;
  readonly baseDir?: string;
}

export class ProcessCluster {
  readonly nodes: ClusterNode[] = [];
  readonly baseDir: string;
  private readonly listeners = new Set<(node: ClusterNode, event: NodeEvent) => void>();

  private constructor(
    private readonly options: ClusterOptions,
    private readonly peersFlag: string,
    baseDir: string,
  ) {
    this.baseDir = baseDir;
  }

  static async start(options: ClusterOptions = {}): Promise<ProcessCluster> {
    const size = options.size ?? 3;
    const baseDir = options.baseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raft-cluster-'));
    const specs: { id: string; raftPort: number; clientPort: number }[] = [];
    for (let i = 0; i < size; i++) specs.push({ id: `n${i + 1}`, raftPort: await freePort(), clientPort: await freePort() });
    const peersFlag = specs.map((s) => `${s.id}@127.0.0.1:${s.raftPort}/127.0.0.1:${s.clientPort}`).join(',');
    const cluster = new ProcessCluster(options, peersFlag, baseDir);
    for (const s of specs) cluster.nodes.push({ ...s, dataDir: path.join(baseDir, s.id), child: null, events: [], stderr: '' });
    await Promise.all(cluster.nodes.map((n) => cluster.startNode(n.id)));
    return cluster;
  }

  node(id: string): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id} in the cluster`);
    return node;
  }

  clientAddress(id: string): string {
    return `127.0.0.1:${this.node(id).clientPort}`;
  }

  clientAddresses(): string[] {
    return this.nodes.map((n) => this.clientAddress(n.id));
  }

  onEvent(listener: (node: ClusterNode, event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts (or restarts) a node process; resolves when it reports "ready". */
  startNode(id: string): Promise<void> {
    const node = this.node(id);
    if (node.child !== null) throw new Error(`node ${id} is already running`);
    // RAFT_NODE_ARGS: extra node flags for the node processes (e.g. --cpu-prof) when investigating.
    const extra = (process.env.RAFT_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    const peers = node.joins === true ? `${this.peersFlag},${id}@127.0.0.1:${node.raftPort}/127.0.0.1:${node.clientPort}` : this.peersFlag;
    const args = [...extra, compiledEntry(NODE_MAIN_SOURCE), '--id', id, '--cluster-id', 'bench', '--data-dir', node.dataDir, '--peers', peers];
    if (node.joins === true) args.push('--join');
    const o = this.options;
    if (o.tick_ms !== undefined) args.push('--tick-ms', String(o.tick_ms));
    if (o.electionTicks !== undefined) args.push('--election-ticks', String(o.electionTicks));
    if (o.heartbeatTicks !== undefined) args.push('--heartbeat-ticks', String(o.heartbeatTicks));
    if (o.snapshotEvery_entries !== undefined) args.push('--snapshot-every', String(o.snapshotEvery_entries));
    args.push('--log-level', o.logLevel ?? 'warn');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    node.stderr = '';
    let pending = '';
    // RAFT_NODE_STDOUT_DIR: keep those diagnostics (one file per node) instead of dropping them.
    const diagnosticsDir = process.env.RAFT_NODE_STDOUT_DIR || undefined;
    if (diagnosticsDir !== undefined) fs.mkdirSync(diagnosticsDir, { recursive: true });
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        node.stderr = (node.stderr + chunk.toString()).slice(-20_000);
      });
      child.stdout!.on('data', (chunk: Buffer) => {
        const at_ms = performance.now();
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (line.trim().length === 0) continue;
          // Node events are JSON lines; V8 diagnostics (RAFT_NODE_ARGS=--trace-gc) also print to stdout.
          if (!line.startsWith('{')) {
            if (diagnosticsDir !== undefined) fs.appendFileSync(path.join(diagnosticsDir, `${id}.stdout`), `${line}\n`);
            continue;
          }
          const event = { at_ms, ...(JSON.parse(line) as { event: string }) } as NodeEvent;
          node.events.push(event);
          if (event.event === 'ready') resolve();
          for (const listener of this.listeners) listener(node, event);
        }
      });
      child.on('exit', (code, signal) => {
        if (node.child === child) node.child = null;
        reject(new Error(`node ${id} exited (${code ?? signal}) before ready: ${node.stderr}`));
      });
    });
  }

  /**
   * Starts one more node with --join (not a member until a membership change
   * adds it: npm run raft:kv -- add-learner). Resolves with it once it is ready.
   */
  async startJoiningNode(id: string): Promise<ClusterNode> {
    if (this.nodes.some((n) => n.id === id)) throw new Error(`node ${id} is already in the cluster`);
    const node: ClusterNode = {
      id,
      raftPort: await freePort(),
      clientPort: await freePort(),
      dataDir: path.join(this.baseDir, id),
      joins: true,
      child: null,
      events: [],
      stderr: '',
    };
    this.nodes.push(node);
    await this.startNode(id);
    return node;
  }

  /** kill -9; resolves once the process is gone. */
  async killNode(id: string): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    node.child = null;
  }

  /** Graceful stop (SIGTERM). */
  async stopNode(id: string): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    node.child = null;
  }

  /** The leader as last reported by running nodes that agree on it, if any. */
  currentLeader(): string | null {
    let leader: string | null = null;
    let bestTerm = -1;
    for (const node of this.nodes) {
      if (node.child === null) continue;
      for (let i = node.events.length - 1; i >= 0; i--) {
        const e = node.events[i]!;
        if (e.event !== 'leader-change') continue;
        const term = Number(e.term);
        if (e.leaderId !== null && term > bestTerm && this.node(String(e.leaderId)).child !== null) {
          bestTerm = term;
          leader = String(e.leaderId);
        }
        break;
      }
    }
    return leader;
  }

  async waitForLeader(timeout_ms: number, excluding: string | null = null): Promise<string> {
    const deadline = performance.now() + timeout_ms;
    for (;;) {
      const leader = this.currentLeader();
      if (leader !== null && leader !== excluding) return leader;
      if (performance.now() > deadline) throw new Error(`no leader within ${timeout_ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(removeData = true): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n.id)));
    if (removeData) fs.rmSync(this.baseDir, { recursive: true, force: true });
  }
}
