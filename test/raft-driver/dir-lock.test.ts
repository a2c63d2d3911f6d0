/**
 * One process at a time per data directory: a second open (same process or
 * another) is refused with InUseError naming the holder, before anything in
 * the directory is read or changed; the lock goes with close() and with the
 * holder's death (kill -9), so a restart needs no cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { InUseError } from '../../src/errors/index.ts';
import { DurableLogStorage } from '../../src/raft/storage/index.ts';
import { makeEntries, tempDir } from './helpers.ts';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-writer.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = tempDir('raft-lock');
  dirs.push(dir);
  return dir;
}

function open(dir: string): DurableLogStorage {
  return DurableLogStorage.open({ dir, clusterId: 'crash', nodeId: 'w', bootstrapConf: { voters: ['w'], learners: [] } });
}

/** Starts the crash-writer fixture on `dir`; resolves once it has the log open and has acknowledged an append. */
function startWriter(dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ack ')) resolve(child);
    });
    child.on('exit', (code, signal) => reject(new Error(`writer exited early (${code ?? signal}): ${stderr}`)));
  });
}

describe('data directory lock', () => {
  it('refuses a second open in the same process until the first closes, touching nothing', async () => {
    const dir = freshDir();
    const first = open(dir);
    await first.append(makeEntries(1, 5, 1));
    // Recovery deletes *.tmp leftovers: a refused open must not get that far.
    const leftover = path.join(dir, 'hardstate.tmp');
    fs.writeFileSync(leftover, 'partial');
    expect(() => open(dir)).toThrow(InUseError);
    expect(() => open(dir)).toThrow(new RegExp(`raft data directory ${dir} is in use by another process \\(pid ${process.pid} on `));
    expect(fs.existsSync(leftover)).toBe(true);
    await first.append(makeEntries(6, 1, 1)); // the holder is unaffected
    first.close();
    const second = open(dir);
    expect(second.lastIndex()).toBe(6);
    expect(fs.existsSync(leftover)).toBe(false);
    second.close();
  });

  it('refuses a directory another live process has open, and takes it at once after that process is killed', async () => {
    const dir = freshDir();
    const writer = await startWriter(dir);
    let refusal: unknown;
    try {
      open(dir).close();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(InUseError);
    expect((refusal as Error).message).toContain(`(pid ${writer.pid} on `);
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    writer.kill('SIGKILL');
    await exited;
    const reopened = open(dir); // no stale lock to clean up
    expect(reopened.lastIndex()).toBeGreaterThan(0);
    reopened.close();
  });

  it('releases the lock when the log was abandoned after a failure', () => {
    const dir = freshDir();
    const first = open(dir);
    first.abandon();
    open(dir).close();
  });
});
