/** The node process refuses bad flags, foreign data directories and one another process holds, with a clear message and the exit status of docs/errors.md. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableLogStorage } from '../../src/raft/storage/index.ts';
import { tempDir } from './helpers.ts';

const NODE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/raft/kv/kv-node-main.ts');
const dir = tempDir('raft-node-main');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', NODE_MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('kv-node-main', () => {
  it('names the bad flag', () => {
    const bad = run(['--id', 'a', '--cluster-id', 'c', '--data-dir', dir, '--peers', 'a@127.0.0.1:1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('INVALID_ARGUMENT');
    expect(bad.stderr).toContain('--peers: "a@127.0.0.1:1" is not id@raftHost:port/clientHost:port');
    const missing = run(['--id', 'a', '--cluster-id', 'c', '--peers', 'a@127.0.0.1:1/127.0.0.1:2']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--data-dir is required');
    const typo = run(['--idd', 'a']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain("INVALID_ARGUMENT: Unknown option '--idd' (--help lists the flags)");
    expect(typo.stderr).not.toMatch(/\n\s+at /);
  });

  it('prints its usage with --help and starts nothing', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: .*kv-node-main\.ts --id ID --cluster-id NAME --data-dir DIR --peers LIST/);
    expect(help.stdout).not.toContain('"event"');
  });

  it('refuses a data directory that another process has open (exit 10), and leaves it untouched', () => {
    const held = path.join(dir, 'held');
    const holder = DurableLogStorage.open({ dir: held, clusterId: 'c', nodeId: 'a', bootstrapConf: { voters: ['a'], learners: [] } });
    try {
      const before = fs.readdirSync(held).sort();
      const result = run(['--id', 'a', '--cluster-id', 'c', '--data-dir', held, '--peers', 'a@127.0.0.1:0/127.0.0.1:0']);
      expect(result.status).toBe(10);
      expect(result.stderr).toContain(`IN_USE: raft data directory ${held} is in use by another process (pid ${process.pid} on `);
      expect(result.stdout).not.toContain('"ready"');
      expect(fs.readdirSync(held).sort()).toEqual(before);
    } finally {
      holder.close();
    }
  });

  it("refuses another node's data directory, naming both ids", () => {
    const foreign = path.join(dir, 'foreign');
    DurableLogStorage.open({ dir: foreign, clusterId: 'c', nodeId: 'b', bootstrapConf: { voters: ['a', 'b'], learners: [] } }).close();
    const result = run(['--id', 'a', '--cluster-id', 'c', '--data-dir', foreign, '--peers', 'a@127.0.0.1:0/127.0.0.1:0,b@127.0.0.1:1/127.0.0.1:2']);
    expect(result.status).toBe(5);
    expect(result.stderr).toContain('MISMATCH');
    expect(result.stderr).toMatch(/cluster "c" node "b".*cluster "c" node "a"/);
  });
});
