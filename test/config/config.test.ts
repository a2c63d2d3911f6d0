/**
 * The config system (src/config): precedence flags > env > file > defaults,
 * environment names derived once from the key path, unknown keys and bad
 * values refused with the key and its source named, and --print's table.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envNameOf, flagNamesOf, formatConfig, kebabFlagOf, loadConfig, PROCESS_KINDS, SCHEMAS, splitConfigArgs } from '../../src/config/index.ts';
import { InvalidArgumentError, NotFoundError } from '../../src/errors/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'zkp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const PEERS = 'a@127.0.0.1:7001/127.0.0.1:8001,b@127.0.0.1:7002/127.0.0.1:8002,c@127.0.0.1:7003/127.0.0.1:8003';
const COORDINATOR_ENV = { ZKP_RAFT_NODE_ID: 'b', ZKP_RAFT_PEERS: PEERS };

function coordinator(args: string[], env: Record<string, string> = COORDINATOR_ENV) {
  const split = splitConfigArgs(args, 'coordinator');
  expect(split.rest).toEqual([]);
  return loadConfig('coordinator', { flags: split.flags, configPath: split.configPath, env, cwd: dir });
}

describe('names', () => {
  it('derives the environment name once from the key path', () => {
    expect(envNameOf('raft.nodeId')).toBe('ZKP_RAFT_NODE_ID');
    expect(envNameOf('jobs.leaseMs')).toBe('ZKP_JOBS_LEASE_MS');
    expect(envNameOf('jobs.inlineInputMaxBytes')).toBe('ZKP_JOBS_INLINE_INPUT_MAX_BYTES');
    expect(envNameOf('coordinators')).toBe('ZKP_COORDINATORS');
    expect(envNameOf('store.databaseUrl')).toBe('ZKP_STORE_DATABASE_URL');
    expect(kebabFlagOf('raft.nodeId')).toBe('raft-node-id');
    expect(() => envNameOf('zkp.id')).toThrow(/double the ZKP_ prefix/);
  });

  it('gives every key of every kind a distinct env name and flags, never a doubled prefix', () => {
    for (const kind of PROCESS_KINDS) {
      const envs = SCHEMAS[kind].map((spec) => envNameOf(spec.key));
      expect(new Set(envs).size, kind).toBe(envs.length);
      for (const name of envs) expect(name).not.toMatch(/^ZKP_ZKP_/);
      const flags = SCHEMAS[kind].flatMap((spec) => flagNamesOf(spec.key, spec.extraFlags));
      expect(new Set(flags).size, kind).toBe(flags.length);
    }
  });

  it('every key appears in docs/config.md with its env name', async () => {
    const { readFile } = await import('node:fs/promises');
    const docs = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'config.md'), 'utf8');
    for (const kind of PROCESS_KINDS) {
      for (const spec of SCHEMAS[kind]) {
        expect(docs, spec.key).toContain(`\`${spec.key}\``);
        expect(docs, spec.key).toContain(`\`${envNameOf(spec.key)}\``);
      }
    }
  });
});

describe('precedence', () => {
  it('flags > environment > file > defaults, each value with its source', () => {
    const config = file('precedence.json', { raft: { tickMs: 20, electionTicks: 30, heartbeatTicks: 3 }, 'jobs.queueMax': 7, log: { level: 'warn' } });
    const env = { ...COORDINATOR_ENV, ZKP_RAFT_ELECTION_TICKS: '40', ZKP_LOG_LEVEL: 'debug' };
    const loaded = coordinator(['--config', config, '--log.level=error', '--raft-heartbeat-ticks', '4'], env);
    const source = (key: string) => {
      const entry = loaded.entries.find((e) => e.key === key)!;
      return [entry.value, entry.source, entry.origin];
    };
    expect(source('log.level')).toEqual(['error', 'flag', '--log.level']);
    expect(source('raft.heartbeatTicks')).toEqual([4, 'flag', '--raft-heartbeat-ticks']);
    expect(source('raft.electionTicks')).toEqual([40, 'env', 'ZKP_RAFT_ELECTION_TICKS']);
    expect(source('raft.tickMs')).toEqual([20, 'file', config]);
    expect(source('jobs.queueMax')).toEqual([7, 'file', config]);
    expect(source('jobs.leaseMs')).toEqual([5000, 'default', 'default']);
    expect(loaded.config.raft.tickMs).toBe(20);
    expect(loaded.config.log.level).toBe('error');
    expect(loaded.config.jobs.queueMax).toBe(7);
  });

  it('derives defaults from other keys and builds the typed object', () => {
    const { config } = coordinator([]);
    expect(config.raft.nodeId).toBe('b');
    expect(config.raft.clusterId).toBe('zkp');
    expect(config.raft.peers.get('c')).toEqual({ raftAddress: '127.0.0.1:7003', clientAddress: '127.0.0.1:8003' });
    expect(config.api.listen).toBe('127.0.0.1:8002');
    expect(config.raft.dataDir).toBe(join('zkp-data', 'zkp-b'));
    expect(config.http.listen).toBe('127.0.0.1:0');
    expect(config.store.databaseUrl).toBe('');
    expect(config.raft.join).toBe(false);
    expect(config.jobs).toEqual({ queueMax: 10_000, maxAttempts: 3, leaseMs: 5000, inlineInputMaxBytes: 1_048_576 });
  });

  it('a boolean flag alone means true; =false sets false', () => {
    expect(coordinator(['--raft.join']).config.raft.join).toBe(true);
    expect(coordinator(['--raft-join=false']).config.raft.join).toBe(false);
    expect(coordinator([], { ...COORDINATOR_ENV, ZKP_RAFT_JOIN: 'yes' }).config.raft.join).toBe(true);
  });

  it('store.databaseUrl reads DATABASE_URL below ZKP_STORE_DATABASE_URL, and --print redacts the password', () => {
    const fromGeneric = coordinator([], { ...COORDINATOR_ENV, DATABASE_URL: 'postgresql://u:secret@h:5432/d' });
    expect(fromGeneric.config.store.databaseUrl).toBe('postgresql://u:secret@h:5432/d');
    const entry = fromGeneric.entries.find((e) => e.key === 'store.databaseUrl')!;
    expect([entry.source, entry.origin]).toEqual(['env', 'DATABASE_URL']);
    expect(formatConfig(fromGeneric)).not.toContain('secret');
    expect(formatConfig(fromGeneric)).toContain('postgresql://u:***@h:5432/d');
    const both = coordinator([], { ...COORDINATOR_ENV, DATABASE_URL: 'postgresql://h/generic', ZKP_STORE_DATABASE_URL: 'postgresql://h/specific' });
    expect(both.config.store.databaseUrl).toBe('postgresql://h/specific');
  });

  it('ZKP_CONFIG names the file; --config wins over it', () => {
    const one = file('one.json', { worker: { slots: 2 } });
    const two = file('two.json', { worker: { slots: 3 } });
    const env = { ZKP_COORDINATORS: '127.0.0.1:1', ZKP_CONFIG: one };
    expect(loadConfig('worker', { env }).config.worker.slots).toBe(2);
    expect(loadConfig('worker', { env, configPath: two }).config.worker.slots).toBe(3);
  });

  it('lists from text or JSON arrays', () => {
    const config = file('lists.json', { coordinators: ['127.0.0.1:1', 'h:2'], worker: { backends: ['native', 'snarkjs'] } });
    const loaded = loadConfig('worker', { configPath: config, env: {} });
    expect(loaded.config.coordinators).toEqual(['127.0.0.1:1', 'h:2']);
    expect(loaded.config.worker.backends).toEqual(['native', 'snarkjs']);
    expect(loadConfig('worker', { env: { ZKP_COORDINATORS: ' a:1 , b:2 ,' } }).config.coordinators).toEqual(['a:1', 'b:2']);
  });
});

describe('refusals name the key and its source', () => {
  it('an unknown ZKP_ variable, with a suggestion', () => {
    expect(() => coordinator([], { ...COORDINATOR_ENV, ZKP_RAFT_NODEID: 'x' })).toThrow(
      /unknown config key ZKP_RAFT_NODEID \(environment\) for zkp coordinator; did you mean raft.nodeId \(ZKP_RAFT_NODE_ID/,
    );
    // The old system's doubled prefix.
    expect(() => coordinator([], { ...COORDINATOR_ENV, ZKP_ZKP_RAFT_NODE_ID: 'x' })).toThrow(/ZKP_ZKP_RAFT_NODE_ID/);
  });

  it('allows the listed non-config ZKP_ variables and ignores keys of other kinds', () => {
    const loaded = coordinator([], {
      ...COORDINATOR_ENV,
      ZKP_TEST_SEED: '1',
      ZKP_DEBUG: '1',
      ZKP_TEST_ANYTHING: 'x',
      ZKP_COORDINATORS: 'h:1',
      ZKP_WORKER_ID: 'w',
    });
    expect(loaded.ignored).toEqual(['ZKP_COORDINATORS (environment)', 'ZKP_WORKER_ID (environment)']);
    expect(formatConfig(loaded)).toContain('# ignored (keys of other process kinds): ZKP_COORDINATORS (environment)');
  });

  it('an unknown key in the file; a key of another kind there is ignored', () => {
    const bad = file('bad-key.json', { raft: { nodeid: 'a' } });
    expect(() => coordinator(['--config', bad])).toThrow(
      /unknown config key raft.nodeid \(config file .*bad-key.json\) for zkp coordinator; did you mean raft.nodeId/,
    );
    const other = file('other-kind.json', { worker: { slots: 2 } });
    expect(coordinator(['--config', other]).ignored).toEqual(['worker.slots (config file)']);
  });

  it('an unknown dotted flag, or a key of another kind on the command line', () => {
    expect(() => splitConfigArgs(['--raft.nodeid', 'a'], 'coordinator')).toThrow(/unknown config key --raft.nodeid \(command line\)/);
    expect(() => splitConfigArgs(['--raft.nodeId', 'a'], 'client')).toThrow(/--raft.nodeId \(command line\) for zkp client \(it is a key of zkp coordinator\)/);
    // Non-config options are left for the command's own parser.
    expect(splitConfigArgs(['x', '--wait', '--coordinators', 'h:1', '--priority', '3'], 'client')).toEqual({
      flags: [{ key: 'coordinators', flag: '--coordinators', value: 'h:1' }],
      configPath: null,
      rest: ['x', '--wait', '--priority', '3'],
    });
  });

  it('a flag without its value, or given twice', () => {
    expect(() => splitConfigArgs(['--raft.nodeId'], 'coordinator')).toThrow(/--raft.nodeId \(raft.nodeId\) needs a value/);
    expect(() => splitConfigArgs(['--raft.nodeId', '--raft.join'], 'coordinator')).toThrow(/needs a value/);
    expect(() => splitConfigArgs(['--raft.nodeId=a', '--raft-node-id', 'b'], 'coordinator')).toThrow(/given twice/);
  });

  it.each([
    ['ZKP_JOBS_LEASE_MS', '5s', /config key jobs.leaseMs \(environment ZKP_JOBS_LEASE_MS\): "5s" is not an integer/],
    ['ZKP_JOBS_LEASE_MS', '10', /jobs.leaseMs .*10 is out of range 300..3600000/],
    ['ZKP_RAFT_JOIN', 'maybe', /raft.join .*not a boolean/],
    ['ZKP_LOG_LEVEL', 'loud', /log.level .*"loud" is not one of fatal, error, warn, info, debug, trace, silent/],
    ['ZKP_API_LISTEN', 'localhost', /api.listen .*"localhost" is not host:port/],
    ['ZKP_HTTP_LISTEN', 'h:65536', /http.listen .*not host:port/],
    ['ZKP_STORE_DATABASE_URL', 'mysql://u:pw@h/d', /store.databaseUrl .*scheme "mysql:"/],
    ['ZKP_RAFT_PEERS', 'a@h:1', /raft.peers .*"a@h:1" is not id@raftHost:port\/clientHost:port/],
    ['ZKP_RAFT_PEERS', 'b@h:1/h:2,b@h:3/h:4', /raft.peers .*node b is listed twice/],
    ['ZKP_RAFT_NODE_ID', 'x y', /raft.nodeId .*an id of 1-64/],
  ])('%s=%s', (name, value, message) => {
    const run = () => coordinator([], { ...COORDINATOR_ENV, [name]: value });
    expect(run).toThrow(InvalidArgumentError);
    expect(run).toThrow(message);
  });

  it('a bad value never echoes a password', () => {
    expect(() => coordinator([], { ...COORDINATOR_ENV, ZKP_STORE_DATABASE_URL: 'mysql://u:hunter2@h/d' })).toThrow(/^(?!.*hunter2)/);
  });

  it('a bad value in the file and on the command line', () => {
    const bad = file('bad-value.json', { jobs: { maxAttempts: 'three' } });
    expect(() => coordinator(['--config', bad])).toThrow(/config key jobs.maxAttempts \(config file .*bad-value.json\): "three" is not an integer/);
    expect(() => coordinator(['--jobs-max-attempts', '0'])).toThrow(/jobs.maxAttempts \(flag --jobs-max-attempts\): 0 is out of range 1..100/);
    expect(() => loadConfig('worker', { env: { ZKP_COORDINATORS: 'h:1', ZKP_WORKER_BACKENDS: 'cuda' } })).toThrow(
      /worker.backends .*"cuda" is not one of webgpu/,
    );
  });

  it('a missing required key, an unreadable or malformed file', () => {
    expect(() => loadConfig('coordinator', { env: { ZKP_RAFT_PEERS: PEERS } })).toThrow(
      /config key raft.nodeId is required for zkp coordinator: set --raft.nodeId, ZKP_RAFT_NODE_ID or "raft.nodeId" in the config file/,
    );
    expect(() => loadConfig('worker', { env: {} })).toThrow(/coordinators is required for zkp worker/);
    expect(() => loadConfig('client', { env: {}, configPath: join(dir, 'none.json') })).toThrow(NotFoundError);
    const malformed = file('malformed.json', '{"raft": ');
    expect(() => loadConfig('client', { env: {}, configPath: malformed })).toThrow(/malformed.json is not valid JSON/);
    const array = file('array.json', '[1]');
    expect(() => loadConfig('client', { env: {}, configPath: array })).toThrow(/must hold a JSON object/);
  });

  it('rules between keys name both keys', () => {
    expect(() => coordinator([], { ...COORDINATOR_ENV, ZKP_RAFT_NODE_ID: 'd' })).toThrow(
      /raft.nodeId \(environment ZKP_RAFT_NODE_ID\) is "d", which raft.peers \(environment ZKP_RAFT_PEERS\) does not list/,
    );
    expect(() => coordinator(['--raft.heartbeatTicks=10'])).toThrow(
      /raft.heartbeatTicks \(flag --raft.heartbeatTicks\) is 10, not below raft.electionTicks \(default\) 10/,
    );
  });
});

describe('--print', () => {
  it('shows every key with its env name, value and source', () => {
    const loaded = coordinator(['--raft.clusterId', 'prod']);
    const text = formatConfig(loaded);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^# zkp coordinator: flags > environment > config file > defaults; config file: none$/);
    expect(lines[1]).toMatch(/^KEY\s+ENV\s+VALUE\s+SOURCE$/);
    expect(lines).toHaveLength(2 + SCHEMAS.coordinator.length);
    expect(text).toMatch(/^raft\.nodeId\s+ZKP_RAFT_NODE_ID\s+b\s+env ZKP_RAFT_NODE_ID$/m);
    expect(text).toMatch(/^raft\.clusterId\s+ZKP_RAFT_CLUSTER_ID\s+prod\s+flag --raft.clusterId$/m);
    expect(text).toMatch(/^raft\.dataDir\s+ZKP_RAFT_DATA_DIR\s+zkp-data\/prod-b\s+default$/m);
    expect(text).toMatch(/^store\.databaseUrl\s+ZKP_STORE_DATABASE_URL\s+""\s+default$/m);
    expect(text).toMatch(/^raft\.peers\s+ZKP_RAFT_PEERS\s+a@127.0.0.1:7001\/127.0.0.1:8001,b@/m);
  });

  it('with allowMissing, shows the required keys that are not set', () => {
    const loaded = loadConfig('coordinator', { env: {}, allowMissing: true });
    expect(loaded.missing).toEqual(['raft.nodeId', 'raft.peers']);
    expect(formatConfig(loaded)).toMatch(/^raft\.nodeId\s+ZKP_RAFT_NODE_ID\s+\(required; not set\)\s+default$/m);
  });
});
