/**
 * The service commands of the `zkp` CLI (src/cli): argument errors need no
 * cluster and end with one line and the right exit code; the client commands
 * talk to a real gRPC server on loopback (test/client/fake-coordinator.ts),
 * found through --coordinators, ZKP_COORDINATORS or the dev cluster's
 * cluster.json; `zkp config --print` shows sources.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.ts';
import { type FakeCoordinator, startFakeCoordinator } from '../client/fake-coordinator.ts';

const ZKP = resolve(import.meta.dirname, '..', '..', 'bin', 'zkp.js');
let dir: string;
let inputPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zkp-cli-service-'));
  inputPath = join(dir, 'input.json');
  writeFileSync(inputPath, '{"a": "3", "b": "11"}');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** runCli in this process, with its own environment and directory. */
async function zkp(args: string[], env: Record<string, string> = {}, cwd = dir): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env,
    cwd,
  });
  return { code, stdout, stderr };
}

function expectUserError(run: Run, code: number, message: RegExp): void {
  expect(run.code, run.stderr).toBe(code);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^zkp: /);
  expect(lines[0]).toMatch(message);
}

describe('argument errors (no cluster needed)', () => {
  it.each([
    [['submit'], 2, /usage: zkp submit <circuit> <input.json\|witness.wtns>.*got nothing/],
    [['submit', 'c'], 2, /usage: zkp submit/],
    [['submit', 'c', 'in.json', '--proof', 'p.json'], 2, /--proof and --public need --wait/],
    [['submit', 'c', 'in.json', '--deadline', '30'], 2, /--deadline: "30" is not a duration/],
    [['submit', 'c', 'in.json', '--priority', 'high'], 2, /option --priority must be an integer/],
    [['submit', 'c', 'in.json', '--bogus'], 2, /unknown option --bogus/],
    [['submit', 'c', 'missing.json'], 3, /cannot read input missing.json: ENOENT/],
    [['job'], 2, /usage: zkp job <id>/],
    [['job', 'a', 'b'], 2, /usage: zkp job <id>.*got a b/],
    [['jobs', '--state', 'DONE'], 2, /--state: "DONE" is not one of QUEUED/],
    [['jobs', '--limit', '0'], 2, /--limit must be an integer in 1../],
    [['cancel'], 2, /usage: zkp cancel <id>/],
    [['circuit'], 2, /usage: zkp circuit add\|list \(got nothing\)/],
    [['circuit', 'remove'], 2, /usage: zkp circuit add\|list \(got "remove"\)/],
    [['circuit', 'add', 'c.wasm'], 2, /usage: zkp circuit add <circuit.wasm> <circuit.zkey>/],
    [['status', 'extra'], 2, /usage: zkp status/],
    [['status', '--coordinators', 'nohost'], 2, /config key coordinators \(flag --coordinators\): "nohost" is not host:port/],
    [['status', '--raft.nodeId', 'a'], 2, /unknown config key --raft.nodeId \(command line\) for zkp client \(it is a key of zkp coordinator\)/],
    [['status'], 2, /no coordinators given and no dev cluster here \(.*\.zkp\/dev\/cluster.json does not exist\)/],
    [['config'], 2, /zkp config needs --print/],
    [['config', '--print', '--for', 'robot'], 2, /--for must be one of coordinator, worker, client, dev, got "robot"/],
    [['coordinator', 'extra'], 2, /zkp coordinator takes no arguments/],
    [['worker', '--worker.slots', '0', '--coordinators', 'h:1'], 2, /config key worker.slots \(flag --worker.slots\): 0 is out of range 1..64/],
    [['dev', '--dev.coordinators', '2'], 2, /dev.coordinators \(flag --dev.coordinators\) must be 1, 3 or 5, got 2/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
  ])('zkp %j', async (args, code, message) => {
    expectUserError(await zkp(args), code, message);
  });

  it('an unknown ZKP_ variable fails the command that would use it', async () => {
    expectUserError(
      await zkp(['status'], { ZKP_COORDINATOR: 'h:1' }),
      2,
      /unknown config key ZKP_COORDINATOR \(environment\) for zkp client; did you mean coordinators/,
    );
    expectUserError(await zkp(['coordinator'], { ZKP_COORDINATOR_COORDINATOR_ID: 'a' }), 2, /unknown config key ZKP_COORDINATOR_COORDINATOR_ID/);
  });
});

describe('zkp config --print', () => {
  it('prints every key with env name, value and source; exits 2 naming missing required keys', async () => {
    const run = await zkp(['config', '--print', '--for', 'coordinator', '--raft.clusterId=prod'], { ZKP_RAFT_NODE_ID: 'a' });
    expect(run.stdout).toMatch(/^raft\.nodeId\s+ZKP_RAFT_NODE_ID\s+a\s+env ZKP_RAFT_NODE_ID$/m);
    expect(run.stdout).toMatch(/^raft\.clusterId\s+ZKP_RAFT_CLUSTER_ID\s+prod\s+flag --raft.clusterId$/m);
    expect(run.stdout).toMatch(/^raft\.peers\s+ZKP_RAFT_PEERS\s+\(required; not set\)\s+default$/m);
    expectUserError(run, 2, /zkp coordinator would not start: required key not set: raft.peers/);
  });

  it('defaults to the client kind, and reads a config file', async () => {
    const file = join(dir, 'client.json');
    writeFileSync(file, JSON.stringify({ coordinators: ['127.0.0.1:7101'] }));
    const run = await zkp(['config', '--print', '--config', file]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^coordinators\\s+ZKP_COORDINATORS\\s+127.0.0.1:7101\\s+file ${file}$`, 'm'));
    expect(run.stdout).toMatch(/^dev\.stateDir\s+ZKP_DEV_STATE_DIR\s+\.zkp\/dev\s+default$/m);
  });
});

describe('client commands against a gRPC server on loopback', () => {
  let leader: FakeCoordinator;
  let follower: FakeCoordinator;
  beforeAll(async () => {
    leader = await startFakeCoordinator('b');
    follower = await startFakeCoordinator('a', { kind: 'follower', leaderId: 'b', leaderAddress: leader.address });
  });
  afterAll(async () => {
    await leader.stop();
    await follower.stop();
  });
  afterEach(() => {
    leader.watchState = null;
  });

  it('submit --wait through a follower writes the proof files and shows progress', async () => {
    leader.watchState = 'SUCCEEDED';
    const proof = join(dir, 'proof.json');
    const pub = join(dir, 'public.json');
    const run = await zkp(['submit', 'mulchain', inputPath, '--wait', '--proof', proof, '--public', pub, '--idempotency-key', 'k-1', '--deadline', '1m30s'], {
      ZKP_COORDINATORS: follower.address,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('job-1\n');
    expect(run.stderr).toMatch(/^zkp: job-1 QUEUED$/m);
    expect(run.stderr).toMatch(/^zkp: job-1 SUCCEEDED/m);
    expect(readFileSync(proof, 'utf8')).toBe('{"protocol":"groth16"}');
    expect(readFileSync(pub, 'utf8')).toBe('["33"]');
    expect(leader.jobs.get('k-1')?.idempotency_key).toBe('k-1');
  });

  it('submit --wait exits with the code of the job failure', async () => {
    leader.watchState = 'FAILED';
    const run = await zkp(['submit', 'mulchain', inputPath, '--wait', '--quiet', '--coordinators', leader.address]);
    expect(run.stdout).toMatch(/^job-\d+\n$/);
    expectUserError(run, 5, /job-\d+ FAILED \(MISMATCH\): the witness belongs to another circuit/);
  });

  it('finds the dev cluster through .zkp/dev/cluster.json in the current directory', async () => {
    const cwd = join(dir, 'project');
    mkdirSync(join(cwd, '.zkp', 'dev'), { recursive: true });
    writeFileSync(
      join(cwd, '.zkp', 'dev', 'cluster.json'),
      JSON.stringify({
        processes: [
          { role: 'database', id: 'db' },
          { role: 'coordinator', id: 'a', pid: 1, grpc: follower.address, health: 'http://x/health' },
        ],
      }),
    );
    const run = await zkp(['status'], {}, cwd);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^leader b at .*answered by b/);
    expect(run.stdout).toMatch(/COORDINATOR\s+ROLE\s+TERM\s+COMMIT\s+APPLIED/);
  });

  it('jobs pages through the list up to --limit; circuit list prints a table', async () => {
    const all = await zkp(['jobs', '--coordinators', leader.address]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(6);
    expect(all.stdout).toMatch(/^ID\s+STATE\s+CIRCUIT/);
    const limited = await zkp(['jobs', '--limit', '3', '--state', 'queued,running,succeeded,failed', '--coordinators', leader.address]);
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(limited.stderr).toMatch(/showing the first 3 jobs/);
    const json = await zkp(['jobs', '--state', 'QUEUED', '--json', '--coordinators', leader.address]);
    expect((JSON.parse(json.stdout) as { id: string }[]).map((job) => job.id)).toEqual(['job-1', 'job-5']);
    const circuits = await zkp(['circuit', 'list', '--coordinators', leader.address]);
    expect(circuits.stdout).toMatch(/^ID\s+NAME\s+CONSTRAINTS/);
    expect(circuits.stdout).toContain('mulchain');
  });

  it('job and cancel', async () => {
    const job = await zkp(['job', 'job-9', '--coordinators', leader.address]);
    expect(job.stdout).toMatch(/^id\s+job-9$/m);
    expect(job.stdout).toMatch(/^state\s+QUEUED$/m);
    const cancel = await zkp(['cancel', 'job-9', '--coordinators', leader.address]);
    expect(cancel.stdout).toBe('job-9 CANCELLED\n');
  });
});

describe('the bin', () => {
  it('starts without the prover or grpc for zkp config (one line error, exit 2)', async () => {
    const run = await new Promise<Run>((done) => {
      execFile(
        process.execPath,
        [ZKP, 'config', '--print', '--for', 'worker'],
        { cwd: dir, env: { PATH: process.env.PATH ?? '' } },
        (error, stdout, stderr) => {
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        },
      );
    });
    expect(run.stdout).toMatch(/^coordinators\s+ZKP_COORDINATORS\s+\(required; not set\)/m);
    expectUserError(run, 2, /zkp worker would not start: required key not set: coordinators/);
  });
});
