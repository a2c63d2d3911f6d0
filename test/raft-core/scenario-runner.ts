import { assert } from '../../src/errors/index.ts';
import type { ConfChange } from '../../src/raft/types.ts';
import { TestCluster, text, type ClusterOptions } from './cluster.ts';

/**
 * A small line-oriented DSL for Raft scenarios (test/raft-core/scenarios/*.txt).
 * One command per line; '#' starts a comment. See docs/raft.md for the list.
 */
export class ScenarioError extends Error {}

export function runScenario(source: string, fileName: string): void {
  const options: ClusterOptions = {};
  let cluster: TestCluster | null = null;
  const need = (): TestCluster => {
    if (cluster === null) throw new ScenarioError('`nodes` must come before this command');
    return cluster;
  };
  const lines = source.split('\n');
  for (let lineNo = 1; lineNo <= lines.length; lineNo++) {
    const line = (lines[lineNo - 1] ?? '').replace(/#.*/, '').trim();
    if (line === '') continue;
    const [command = '', ...args] = line.split(/\s+/);
    try {
      if (command === 'options') parseOptions(args, options);
      else if (command === 'nodes') cluster = new TestCluster(args, options);
      else execute(need(), command, args);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ScenarioError(`${fileName}:${lineNo}: \`${line}\`: ${reason}`);
    }
  }
}

function parseOptions(args: readonly string[], options: ClusterOptions): void {
  for (const arg of args) {
    const [key, value] = arg.split('=');
    if (key === 'prevote') options.preVote = true;
    else if (key === 'checkquorum') options.checkQuorum = true;
    else if (key === 'bootstrap') options.bootstrapLog = true;
    else if (key === 'maxsize') options.maxSizePerMsg = Number(value);
    else if (key === 'inflight') options.maxInflightMsgs = Number(value);
    else if (key === 'seed') options.seed = Number(value);
    else if (key === 'heartbeat') options.heartbeatTicks = Number(value);
    else throw new ScenarioError(`unknown option ${arg}`);
  }
}

function count(raw: string | undefined, what: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ScenarioError(`${what} must be a non-negative integer, got ${String(raw)}`);
  return n;
}

function arg(args: readonly string[], i: number, what: string): string {
  const value = args[i];
  if (value === undefined) throw new ScenarioError(`missing ${what}`);
  return value;
}

function execute(c: TestCluster, command: string, args: readonly string[]): void {
  switch (command) {
    case 'add-node':
      c.addNode(arg(args, 0, 'node id'));
      return;
    case 'campaign':
      c.campaign(arg(args, 0, 'node id'));
      return;
    case 'elect':
      c.elect(arg(args, 0, 'node id'));
      return;
    case 'stabilize':
      c.stabilize();
      return;
    case 'tick': {
      const times = count(args[0], 'tick count');
      const ids = args.slice(1);
      for (let i = 0; i < times; i++) {
        if (ids.length === 0) c.tickAll();
        else for (const id of ids) c.tick(id);
      }
      return;
    }
    case 'run': {
      // Ticks everyone and delivers everything, N times: time passing on a working network.
      const times = count(args[0], 'run count');
      for (let i = 0; i < times; i++) {
        c.tickAll();
        c.stabilize();
      }
      return;
    }
    case 'partition': {
      const groups: string[][] = [[]];
      for (const a of args) {
        if (a === '|') groups.push([]);
        else groups[groups.length - 1]!.push(a);
      }
      c.partition(groups);
      return;
    }
    case 'cut':
      c.cut(arg(args, 0, 'from'), arg(args, 1, 'to'));
      return;
    case 'isolate':
      c.isolate(arg(args, 0, 'node id'));
      return;
    case 'heal':
      c.heal();
      return;
    case 'propose':
      c.propose(arg(args, 0, 'node id'), arg(args, 1, 'data'));
      return;
    case 'propose-fails': {
      let failed = false;
      try {
        c.propose(arg(args, 0, 'node id'), arg(args, 1, 'data'));
      } catch {
        failed = true;
      }
      if (!failed) throw new ScenarioError('the proposal was accepted');
      return;
    }
    case 'transfer':
      c.core(arg(args, 0, 'leader id')).transferLeadership(arg(args, 1, 'target id'));
      c.handleAll();
      return;
    case 'read':
      c.core(arg(args, 0, 'node id')).readIndex(new TextEncoder().encode(arg(args, 1, 'context')));
      c.handleAll();
      return;
    case 'remove-fails': {
      let failed = false;
      try {
        c.core(arg(args, 0, 'leader id')).proposeConfChange({ type: 'remove-node', nodeId: arg(args, 1, 'target id') });
      } catch {
        failed = true;
      }
      if (!failed) throw new ScenarioError('the conf change was accepted');
      c.handleAll();
      return;
    }
    case 'add-voter':
    case 'add-learner':
    case 'remove': {
      const type = command === 'remove' ? 'remove-node' : command;
      const change: ConfChange = { type: type as ConfChange['type'], nodeId: arg(args, 1, 'target id') };
      c.core(arg(args, 0, 'leader id')).proposeConfChange(change);
      c.handleAll();
      return;
    }
    case 'compact': {
      const id = arg(args, 0, 'node id');
      const node = c.node(id);
      const core = c.core(id);
      const applied = core.status().applied;
      node.storage.createSnapshot(applied, core.status().conf, new TextEncoder().encode(`state@${applied}`));
      core.snapshotTaken(applied);
      return;
    }
    case 'crash':
      c.crash(arg(args, 0, 'node id'));
      return;
    case 'restart':
      c.start(arg(args, 0, 'node id'));
      return;
    case 'expect':
      expectation(c, args);
      return;
    default:
      throw new ScenarioError(`unknown command ${command}`);
  }
}

function expectation(c: TestCluster, args: readonly string[]): void {
  const what = arg(args, 0, 'what to expect');
  const fail = (message: string): never => {
    throw new ScenarioError(`expectation failed: ${message}`);
  };
  if (what === 'leader') {
    const leaders = [...c.nodes.values()].filter((n) => n.core?.status().role === 'leader').map((n) => n.id);
    const want = arg(args, 1, 'leader id');
    // A deposed leader that has not heard the news yet may still think it leads an older term.
    const current = leaders.filter((id) => c.core(id).status().term === Math.max(...leaders.map((l) => c.core(l).status().term)));
    if (current.length !== 1 || current[0] !== want) fail(`leader ${want}, got [${leaders.join(', ')}]`);
    return;
  }
  if (what === 'logs-equal') {
    // Same last index, and the same term at every index both still hold (compaction may hide a prefix).
    const ids = args.slice(1);
    const reference = c.core(arg(ids, 0, 'node id'));
    for (const id of ids) {
      const core = c.core(id);
      if (core.status().lastIndex !== reference.status().lastIndex)
        fail(`last index of ${id} is ${core.status().lastIndex}, of ${ids[0]} ${reference.status().lastIndex}`);
      const from = Math.max(core.log.firstIndex(), reference.log.firstIndex()) - 1;
      for (let index = from; index <= reference.status().lastIndex; index++) {
        if (core.log.term(index) !== reference.log.term(index))
          fail(`term at ${index} on ${id} is ${String(core.log.term(index))}, on ${ids[0]} ${String(reference.log.term(index))}`);
      }
    }
    return;
  }
  if (what === 'read' || what === 'no-read') {
    const id = arg(args, 1, 'node id');
    const context = arg(args, 2, 'context');
    const state = c.node(id).readStates.find((s) => new TextDecoder().decode(s.context) === context);
    if (what === 'no-read') {
      if (state !== undefined) fail(`${id} has a read state for ${context} at ${state.index}`);
      return;
    }
    if (state === undefined) fail(`${id} has no read state for ${context}`);
    const index = args[3];
    if (index !== undefined && state!.index !== Number(index)) fail(`read ${context} on ${id} at ${state!.index}, expected ${index}`);
    return;
  }
  if (what === 'applied-text' || what === 'no-applied-text') {
    const id = arg(args, 1, 'node id');
    const want = arg(args, 2, 'text');
    const applied = c.node(id).applied.some((e) => e.type === 'normal' && text(e) === want);
    if (what === 'applied-text' && !applied) fail(`${id} has not applied "${want}"`);
    if (what === 'no-applied-text' && applied) fail(`${id} applied "${want}"`);
    return;
  }
  // expect <field> <id|*> <value...>
  const target = arg(args, 1, 'node id or *');
  const ids = target === '*' ? [...c.nodes.values()].filter((n) => n.core !== null).map((n) => n.id) : [target];
  const want = args.slice(2).join(' ');
  for (const id of ids) {
    const status = c.core(id).status();
    const node = c.node(id);
    const actual: Record<string, string> = {
      role: status.role,
      term: String(status.term),
      commit: String(status.commit),
      applied: String(status.applied),
      'last-index': String(status.lastIndex),
      'leader-of': String(status.leaderId),
      voters: status.conf.voters.join(' '),
      learners: status.conf.learners.join(' '),
      snapshots: String(node.snapshotsReceived),
      'first-index': String(c.core(id).log.firstIndex()),
    };
    const value = actual[what];
    assert(value !== undefined, () => `unknown expectation ${what}`);
    const matches = want.startsWith('>') ? Number(value) > Number(want.slice(1)) : value === want;
    if (!matches) fail(`${what} of ${id} is "${value}", expected "${want}"`);
  }
}
