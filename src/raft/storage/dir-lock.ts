/**
 * One process at a time per Raft data directory. Two processes appending to
 * the same log (a node started twice, a restart while the old process still
 * runs) would interleave records and could each cast a vote in the same term:
 * a safety violation that no checksum catches. So the directory's `LOCK` file
 * carries an exclusive flock(2) for as long as the log is open.
 *
 * The kernel drops a flock when its holder dies, kill -9 included, so a crash
 * never leaves a stale lock behind and a restart needs no cleanup. The file's
 * text (pid, host, time) only serves the error message; it is never deleted,
 * because deleting it would let two processes lock two different files.
 */
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { findAddonFile, loadAddon } from '../../addons/find.ts';
import { InUseError } from '../../errors/index.ts';

interface FsLockAddon {
  /** true: this open file description now holds the lock; false: another one does. */
  tryLockExclusive(fd: number): boolean;
}

const LOCK_FILE = 'LOCK';
const ADDON_PATH = findAddonFile('zkp_fs_lock.node', import.meta.url);
let addon: FsLockAddon | undefined;

function lockAddon(): FsLockAddon {
  addon ??= loadAddon<FsLockAddon>(ADDON_PATH, 'the zkp_fs_lock addon (the raft data directory lock)');
  return addon;
}

export class DataDirLock {
  private constructor(private fd: number) {}

  /** Locks `dir` (which must exist) or throws InUseError naming the holder. */
  static acquire(dir: string): DataDirLock {
    const lock = lockAddon();
    const file = path.join(dir, LOCK_FILE);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    let locked: boolean;
    try {
      locked = lock.tryLockExclusive(fd);
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
    if (!locked) {
      const holder = readHolder(fd);
      fs.closeSync(fd);
      throw new InUseError(`raft data directory ${dir} is in use by another process (${holder}); stop it first, or give this node its own data directory`);
    }
    const text = `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`;
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, text, 0);
    return new DataDirLock(fd);
  }

  /** Closing the descriptor drops the lock. Idempotent. */
  release(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    fs.closeSync(fd);
  }
}

function readHolder(fd: number): string {
  try {
    const buffer = Buffer.alloc(256);
    const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, length).toString('utf8').trim();
    return text.length > 0 ? text : 'holder unknown';
  } catch {
    return 'holder unknown';
  }
}
