/**
 * The file operations the durable log uses, injected so that the same log
 * logic (segments, records, checksums, recovery, compaction) runs on the
 * real disk (nodeFileSystem) and on the simulator's (src/sim/sim-fs.ts),
 * which keeps written and synced data apart to crash like a real disk.
 * Synchronous calls, plus Node's callback forms for the writes that run on
 * the thread pool (callbacks, not promises, so that the simulator decides
 * when each completes).
 */
import fs from 'node:fs';
import { DataDirLock } from './dir-lock.ts';

export interface LogFileSystem {
  mkdirp(dir: string): void;
  readdir(dir: string): string[];
  readFile(file: string): Buffer;
  unlink(file: string): void;
  /** Removes a file if it exists. */
  remove(file: string): void;
  rename(from: string, to: string): void;
  /** Makes creates, renames and unlinks in `dir` durable. */
  fsyncDir(dir: string): void;
  /** 'create': write only, created or truncated; 'update': read-write, must exist; 'update-dsync': the same with O_DSYNC (see hasDsync). */
  openSync(file: string, how: 'create' | 'update' | 'update-dsync'): number;
  closeSync(fd: number): void;
  /** Positional when `position` is a number; at the file offset when null. Returns bytes written. */
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number, position: number | null): number;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number | null, done: (error: Error | null, written: number) => void): void;
  fdatasync(fd: number, done: (error: Error | null) => void): void;
  open(file: string, how: 'create', done: (error: Error | null, fd: number) => void): void;
  close(fd: number, done: (error: Error | null) => void): void;
  /** Whether 'update-dsync' is available (a write through it is durable when it completes). */
  readonly hasDsync: boolean;
  /** Locks `dir` for this process (one writer per data directory). */
  lockDir(dir: string): { release(): void };
}

/** Synchronized data writes (Linux, macOS); undefined where the platform has no such flag. */
const O_DSYNC: number | undefined = (fs.constants as Record<string, number | undefined>).O_DSYNC;

function flagsOf(how: 'create' | 'update' | 'update-dsync'): string | number {
  if (how === 'create') return 'w';
  if (how === 'update') return 'r+';
  return fs.constants.O_RDWR | O_DSYNC!;
}

export const nodeFileSystem: LogFileSystem = {
  mkdirp: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  readdir: (dir) => fs.readdirSync(dir),
  readFile: (file) => fs.readFileSync(file),
  unlink: (file) => fs.unlinkSync(file),
  remove: (file) => fs.rmSync(file, { force: true }),
  rename: (from, to) => fs.renameSync(from, to),
  fsyncDir: (dir) => {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  openSync: (file, how) => fs.openSync(file, flagsOf(how), 0o644),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, bytes, offset, length, position) => fs.writeSync(fd, bytes, offset, length, position),
  fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  write: (fd, bytes, offset, length, position, done) => fs.write(fd, bytes, offset, length, position, (error, written) => done(error, written)),
  fdatasync: (fd, done) => fs.fdatasync(fd, (error) => done(error)),
  open: (file, how, done) => fs.open(file, flagsOf(how), 0o644, (error, fd) => done(error, fd)),
  close: (fd, done) => fs.close(fd, (error) => done(error)),
  hasDsync: O_DSYNC !== undefined,
  lockDir: (dir) => DataDirLock.acquire(dir),
};
