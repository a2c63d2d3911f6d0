import { assert } from '../../src/errors/index.ts';
import { MemoryStorage, RaftCore } from '../../src/raft/core/index.ts';
import type { Entry, Message, NodeId, ReadState } from '../../src/raft/types.ts';
import { Prng } from '../../src/random/prng.ts';

export interface ClusterOptions {
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTicks?: number;
  heartbeatTicks?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  seed?: number;
  /** Write the founding voters into the log (bootstrap) instead of the storage's initial conf. */
  bootstrapLog?: boolean;
}

interface TestNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  core: RaftCore | null;
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  snapshotsReceived: number;
}

/** Bound on delivery rounds in stabilize(): a cluster that never goes quiet is a bug. */
const MAX_STABILIZE_ROUNDS = 10_000;

/**
 * A synchronous in-memory cluster for the core's tests (no simulated time
 * beyond explicit ticks): readies are handled right away (persist, queue the
 * messages, apply, advance) and queued messages are delivered on request, in
 * FIFO order, over links that can be cut.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  queue: Message[] = [];
  private readonly cutLinks = new Set<string>();
  readonly prng: Prng;
  private readonly options: Required<Omit<ClusterOptions, 'seed'>>;

  constructor(ids: readonly NodeId[], options: ClusterOptions = {}) {
    this.prng = new Prng(options.seed ?? 1);
    this.options = {
      preVote: options.preVote ?? false,
      checkQuorum: options.checkQuorum ?? false,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      maxSizePerMsg: options.maxSizePerMsg ?? 1 << 20,
      maxInflightMsgs: options.maxInflightMsgs ?? 256,
      bootstrapLog: options.bootstrapLog ?? false,
    };
    for (const id of ids) this.addNode(id, ids);
  }

  /** Adds a node; with `voters` it is a founding member, without it an empty newcomer waiting to be added. */
  addNode(id: NodeId, voters: readonly NodeId[] = []): void {
    assert(!this.nodes.has(id), `node ${id} exists`);
    let storage: MemoryStorage;
    if (this.options.bootstrapLog && voters.length > 0) {
      storage = new MemoryStorage();
      storage.bootstrap(voters);
    } else storage = new MemoryStorage({ voters, learners: [] });
    const node: TestNode = { id, storage, core: null, applied: [], readStates: [], snapshotsReceived: 0 };
    this.nodes.set(id, node);
    this.start(id);
  }

  start(id: NodeId): void {
    const node = this.node(id);
    assert(node.core === null, `${id} is running`);
    const { bootstrapLog: _unused, ...tuning } = this.options;
    const random = this.prng.fork();
    node.core = new RaftCore({ ...tuning, id, storage: node.storage, random: () => random.next() });
    this.handle(id);
  }

  crash(id: NodeId): void {
    this.node(id).core = null;
    this.queue = this.queue.filter((m) => m.to !== id);
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `no node ${id}`);
    return node;
  }

  core(id: NodeId): RaftCore {
    const core = this.node(id).core;
    assert(core !== null, `node ${id} is crashed`);
    return core;
  }

  /** The driver's Ready loop for one node: persist, queue messages, apply, advance. */
  handle(id: NodeId): void {
    const node = this.node(id);
    const core = node.core;
    if (core === null) return;
    for (let round = 0; round < 100 && core.hasReady(); round++) {
      const ready = core.ready();
      if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
      node.storage.append(ready.entries);
      if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
      this.queue.push(...ready.messages);
      node.applied.push(...ready.committedEntries);
      node.readStates.push(...ready.readStates);
      core.advance(ready);
    }
  }

  handleAll(): void {
    for (const id of this.nodes.keys()) this.handle(id);
  }

  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(`${from}->${to}`);
  }

  /** Symmetric partition between groups. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut(x, y);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.partition([[id], [other]]);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  /** Delivers queued messages matching `filter` (default: all), once; returns how many were delivered. */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const batch = this.queue.filter(filter);
    this.queue = this.queue.filter((m) => !filter(m));
    let delivered = 0;
    for (const message of batch) {
      if (this.cutLinks.has(`${message.from}->${message.to}`)) continue;
      const node = this.nodes.get(message.to);
      if (node?.core === null || node === undefined) continue;
      if (message.type === 'snapshot') node.snapshotsReceived++;
      node.core.step(message);
      delivered++;
    }
    this.handleAll();
    return delivered;
  }

  /** Delivers until nothing is in flight. */
  stabilize(): void {
    this.handleAll();
    for (let round = 0; round < MAX_STABILIZE_ROUNDS; round++) {
      if (this.queue.length === 0) return;
      this.deliver();
    }
    assert(false, 'cluster did not stabilize');
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.core(id).tick();
      this.handle(id);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const node of this.nodes.values()) if (node.core !== null) this.tick(node.id);
  }

  /** Ticks `id` until it starts a (pre-)campaign, as etcd's MsgHup would. */
  campaign(id: NodeId): void {
    const core = this.core(id);
    for (let i = 0; i < 2 * this.options.electionTicks + 1; i++) {
      this.tick(id);
      if (core.status().role !== 'follower') return;
    }
    assert(false, `${id} did not campaign`);
  }

  /** Campaign and deliver until quiet. */
  elect(id: NodeId): void {
    this.campaign(id);
    this.stabilize();
    assert(this.core(id).status().role === 'leader', () => `${id} did not win: ${JSON.stringify(this.core(id).status())}`);
  }

  propose(id: NodeId, text: string): { index: number; term: number } {
    const landed = this.core(id).propose(new TextEncoder().encode(text));
    this.handle(id);
    return landed;
  }

  /** The log a node holds (storage plus anything unstable), as "index:term" strings from its first index. */
  logOf(id: NodeId): string[] {
    const core = this.core(id);
    const first = core.log.firstIndex();
    const last = core.log.lastIndex();
    return first > last ? [] : core.log.entries(first, last + 1).map((e) => `${e.index}:${e.term}`);
  }

  leader(): NodeId | null {
    for (const node of this.nodes.values()) if (node.core?.status().role === 'leader') return node.id;
    return null;
  }
}

export function text(entry: Entry): string {
  return new TextDecoder().decode(entry.data);
}
