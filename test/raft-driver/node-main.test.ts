/** The node process refuses bad flags and foreign data directories with a clear message and exit code. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableLogStorage } from '../../src/raft/storage/index.ts';
import { tempDir } from './helpers.ts';

const NODE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/raft/driver/node-main.ts');
const dir = tempDir('raft-node-main');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', NODE_MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('node-main', () => {
  it('names the bad flag', () => {
    const bad = run(['--id', 'a', '--cluster-id', 'c', '--data-dir', dir, '--peers', 'a@127.0.0.1:1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('INVALID_ARGUMENT');
    expect(bad.stderr).toContain('--peers: "a@127.0.0.1:1" is not id@raftHost:port/clientHost:port');
    const missing = run(['--id', 'a', '--cluster-id', 'c', '--peers', 'a@127.0.0.1:1/127.0.0.1:2']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--data-dir is required');
  });

  it("refuses another node's data directory, naming both ids", () => {
    const foreign = path.join(dir, 'foreign');
    DurableLogStorage.open({ dir: foreign, clusterId: 'c', nodeId: 'b', bootstrapConf: { voters: ['a', 'b'], learners: [] } }).close();
    const result = run(['--id', 'a', '--cluster-id', 'c', '--data-dir', foreign, '--peers', 'a@127.0.0.1:0/127.0.0.1:0,b@127.0.0.1:1/127.0.0.1:2']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('MISMATCH');
    expect(result.stderr).toMatch(/cluster "c" node "b".*cluster "c" node "a"/);
  });
});
