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
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import path from 'node:path';
import { findAddonFile } from '../../addons/find.ts';
import { BackendUnavailableError, InUseError } from '../../errors/index.ts';

interface FsLockAddon {
  /** true: this open file description now holds the lock; false: another one does. */
  tryLockExclusive(fd: number): boolean;
}

export const LOCK_FILE = 'LOCK';
const ADDON_PATH = findAddonFile('zkp_fs_lock.node', import.meta.url);
let addon: FsLockAddon | undefined;

function loadAddon(): FsLockAddon {
  if (addon !== undefined) return addon;
  if (!fs.existsSync(ADDON_PATH)) {
    throw new BackendUnavailableError(`the raft data directory lock needs the zkp_fs_lock addon, and ${ADDON_PATH} is missing; run \`npm install\` or \`npx node-gyp rebuild\``);
  }
  try {
    addon = createRequire(import.meta.url)(ADDON_PATH) as FsLockAddon;
  } catch (cause) {
    throw new BackendUnavailableError(`the zkp_fs_lock addon at ${ADDON_PATH} failed to load; rebuild it with \`npx node-gyp rebuild\``, { cause });
  }
  return addon;
}

export class DataDirLock {
  private fd: number;

  private constructor(
    fd: number,
    readonly file: string,
  ) {
    this.fd = fd;
  }

  /** Locks `dir` (which must exist) or throws InUseError naming the holder. */
  static acquire(dir: string): DataDirLock {
    const lock = loadAddon();
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
    return new DataDirLock(fd, file);
  }

  get held(): boolean {
    return this.fd >= 0;
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
