import path from 'node:path';
import { assert, InUseError } from '../errors/index.ts';
import type { LogFileSystem } from '../raft/storage/file-system.ts';
import type { Prng } from '../random/prng.ts';

interface SimFile {
  /** What reads see now (the page cache). */
  data: Buffer;
  /** What is on the platter: survives a crash for certain. */
  synced: Buffer;
  /** Writes since the last sync, in order: a crash keeps a prefix of them, the last one possibly torn. */
  pending: { readonly offset: number; readonly bytes: Buffer }[];
}

interface OpenFile {
  readonly file: SimFile;
  readonly dsync: boolean;
  position: number;
}

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** An I/O error the simulator injected (EIO on a sync): the node must stop on it. */
export class SimulatedDiskFault extends Error {
  readonly code = 'EIO';
  constructor(what: string) {
    super(`EIO: simulated failure of ${what}`);
    this.name = 'SimulatedDiskFault';
  }
}

function writeInto(target: Buffer, offset: number, bytes: Buffer): Buffer {
  const end = offset + bytes.length;
  const out = end > target.length ? Buffer.concat([target, Buffer.alloc(end - target.length)]) : target;
  bytes.copy(out, offset);
  return out;
}

/**
 * A simulated file system for the durable log (LogFileSystem), one per
 * simulated server, outliving its processes. It keeps what was written
 * apart from what was synced, per file and per directory: a crash keeps
 * synced data, a random prefix of the writes since the last sync (the last
 * one possibly torn), and the directory entries as of the last directory
 * fsync (a create or rename not yet made durable is lost, an unlink undone).
 * The thread-pool writes complete through the owning process's scheduler.
 */
export class SimFileSystem implements LogFileSystem {
  private names = new Map<string, SimFile>();
  private durableNames = new Map<string, SimFile>();
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  private locked = false;
  /** Runs a thread-pool completion later (the process's clock); replaced at every start. */
  private schedule: (fn: () => void) => void = (fn) => fn();
  /** Writes handed to the thread pool and not completed: a power loss may land a prefix of them. */
  private inFlight: { readonly file: SimFile; readonly offset: number; readonly bytes: Buffer }[] = [];
  /** Called when a write completes without being durable yet (the simulator may cut the power right there). */
  onUnsyncedWrite: (() => void) | null = null;
  /** Called before each fdatasync completes: an error fails it (a disk fault). */
  syncFault: (() => Error | null) | null = null;
  readonly hasDsync: boolean;
  powerLosses = 0;
  tornWrites = 0;
  /**
   * Bytes files may still grow by (a full disk when it runs out): a write
   * that would grow a file past it writes what fits and returns short, and
   * the next one fails with ENOSPC. Overwriting allocated bytes (the log's
   * preallocated zeros) needs no space.
   */
  spaceLeft_bytes = Number.POSITIVE_INFINITY;
  /** ENOSPC errors raised (since the last attach: the current process). */
  noSpaceErrors = 0;

  constructor(
    private readonly prng: Prng,
    hasDsync: boolean,
  ) {
    this.hasDsync = hasDsync;
  }

  /** Operations handed to the thread pool whose completion has not run. */
  pendingOps = 0;

  /** A new process starts on this disk: its completions run through `schedule`. */
  attach(schedule: (fn: () => void) => void): void {
    this.pendingOps = 0;
    this.noSpaceErrors = 0;
    this.schedule = (fn) => {
      this.pendingOps++;
      schedule(() => {
        this.pendingOps--;
        fn();
      });
    };
  }

  /**
   * The process dies (open files, the lock and writes in flight go; what it
   * wrote stays in the page cache) or, with `powerLoss`, the machine: then
   * what was not durable may be lost or torn.
   */
  crash(powerLoss: boolean): void {
    const inFlight = this.inFlight;
    this.inFlight = [];
    this.pendingOps = 0;
    this.fds.clear();
    this.locked = false;
    if (!powerLoss) return;
    this.powerLosses++;
    // A write the thread pool had started may have reached the disk in part.
    for (const write of inFlight) if (this.prng.chance(0.5)) write.file.pending.push({ offset: write.offset, bytes: write.bytes });
    const survivors = new Map<SimFile, SimFile>();
    for (const file of new Set(this.durableNames.values())) {
      let data: Buffer = Buffer.from(file.synced);
      const kept = this.prng.range(0, file.pending.length);
      for (let i = 0; i < kept; i++) {
        const write = file.pending[i]!;
        let bytes = write.bytes;
        if (i === kept - 1 && bytes.length > 1 && this.prng.chance(0.3)) {
          bytes = bytes.subarray(0, this.prng.range(1, bytes.length - 1)); // torn: the sectors of a prefix made it
          this.tornWrites++;
        }
        data = writeInto(data, write.offset, bytes);
      }
      survivors.set(file, { data, synced: Buffer.from(data), pending: [] });
    }
    const names = new Map<string, SimFile>();
    for (const [name, file] of this.durableNames) names.set(name, survivors.get(file)!);
    this.names = names;
    this.durableNames = new Map(names);
  }

  // ---- LogFileSystem ----

  mkdirp(): void {}

  readdir(dir: string): string[] {
    const out: string[] = [];
    for (const name of this.names.keys()) if (path.dirname(name) === dir) out.push(path.basename(name));
    return out.sort();
  }

  readFile(file: string): Buffer {
    const found = this.names.get(file);
    if (found === undefined) throw errno('ENOENT', `no such file ${file}`);
    return Buffer.from(found.data);
  }

  unlink(file: string): void {
    if (!this.names.delete(file)) throw errno('ENOENT', `no such file ${file}`);
  }

  remove(file: string): void {
    this.names.delete(file);
  }

  rename(from: string, to: string): void {
    const file = this.names.get(from);
    if (file === undefined) throw errno('ENOENT', `no such file ${from}`);
    this.names.delete(from);
    this.names.set(to, file);
  }

  fsyncDir(dir: string): void {
    for (const name of [...this.durableNames.keys()]) if (path.dirname(name) === dir) this.durableNames.delete(name);
    for (const [name, file] of this.names) if (path.dirname(name) === dir) this.durableNames.set(name, file);
  }

  openSync(file: string, how: 'create' | 'update' | 'update-dsync'): number {
    let found = this.names.get(file);
    if (how === 'create') {
      if (found === undefined) {
        found = { data: Buffer.alloc(0), synced: Buffer.alloc(0), pending: [] };
        this.names.set(file, found);
      } else {
        found.data = Buffer.alloc(0);
        found.pending.push({ offset: 0, bytes: Buffer.alloc(0) }); // a truncate not yet synced: modelled as nothing kept
      }
    } else if (found === undefined) throw errno('ENOENT', `no such file ${file}`);
    else if (how === 'update-dsync') assert(this.hasDsync, 'O_DSYNC asked of a file system without it');
    const fd = this.nextFd++;
    this.fds.set(fd, { file: found, dsync: how === 'update-dsync', position: 0 });
    return fd;
  }

  closeSync(fd: number): void {
    this.fds.delete(fd);
  }

  private openFile(fd: number): OpenFile {
    const open = this.fds.get(fd);
    if (open === undefined) throw errno('EBADF', `fd ${fd} is not open`);
    return open;
  }

  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number, position: number | null): number {
    const open = this.openFile(fd);
    const at = position ?? open.position;
    const growth = Math.max(0, at + length - open.file.data.length);
    let count = length;
    if (growth > this.spaceLeft_bytes) {
      // The disk is full: what fits goes in (a short write), then ENOSPC.
      count = length - (growth - this.spaceLeft_bytes);
      if (count <= 0) {
        this.noSpaceErrors++;
        throw errno('ENOSPC', `no space left on device writing ${length} bytes at ${at}`);
      }
      this.spaceLeft_bytes = 0;
    } else if (growth > 0) this.spaceLeft_bytes -= growth;
    const chunk = Buffer.from(bytes.subarray(offset, offset + count));
    open.file.data = writeInto(open.file.data, at, chunk);
    open.file.pending.push({ offset: at, bytes: chunk });
    if (position === null) open.position = at + count;
    if (open.dsync) this.syncFile(open.file);
    return count;
  }

  private syncFile(file: SimFile): void {
    if (file.pending.length === 0) return;
    file.synced = Buffer.from(file.data);
    file.pending = [];
  }

  fdatasyncSync(fd: number): void {
    const fault = this.syncFault?.() ?? null;
    if (fault !== null) throw fault;
    this.syncFile(this.openFile(fd).file);
  }

  ftruncateSync(fd: number, length: number): void {
    const file = this.openFile(fd).file;
    file.data = Buffer.from(file.data.subarray(0, length));
    file.pending.push({ offset: 0, bytes: Buffer.alloc(0) });
  }

  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number | null, done: (error: Error | null, written: number) => void): void {
    const open = this.openFile(fd);
    const record = { file: open.file, offset: position ?? open.position, bytes: Buffer.from(bytes.subarray(offset, offset + length)) };
    this.inFlight.push(record);
    this.schedule(() => {
      if (this.fds.get(fd) !== open) return; // the process died meanwhile
      this.inFlight = this.inFlight.filter((write) => write !== record);
      if (open.dsync) {
        const fault = this.syncFault?.() ?? null;
        if (fault !== null) {
          done(fault, 0);
          return;
        }
      }
      let written: number;
      try {
        written = this.writeSync(fd, bytes, offset, length, position);
      } catch (error) {
        done(error as Error, 0);
        return;
      }
      if (!open.dsync) this.onUnsyncedWrite?.();
      done(null, written);
    });
  }

  fdatasync(fd: number, done: (error: Error | null) => void): void {
    const open = this.openFile(fd);
    this.schedule(() => {
      if (this.fds.get(fd) !== open) return;
      const fault = this.syncFault?.() ?? null;
      if (fault !== null) {
        // As Linux may after a failed writeback: the dirty pages are dropped, reads see what was synced.
        open.file.data = Buffer.from(open.file.synced);
        open.file.pending = [];
        done(fault);
        return;
      }
      this.syncFile(open.file);
      done(null);
    });
  }

  open(file: string, how: 'create', done: (error: Error | null, fd: number) => void): void {
    const fd = this.openSync(file, how);
    this.schedule(() => {
      if (this.fds.has(fd)) done(null, fd);
    });
  }

  close(fd: number, done: (error: Error | null) => void): void {
    this.closeSync(fd);
    this.schedule(() => done(null));
  }

  /**
   * Which of `files` a power loss right now could change: one not synced
   * (writes in the page cache or still in flight) or whose directory entry
   * is not durable. Null when every one is on the platter as reads see it.
   */
  notDurable(files: readonly string[]): string | null {
    for (const name of files) {
      const file = this.names.get(name);
      if (file === undefined) return `${name} (missing)`;
      if (this.durableNames.get(name) !== file) return `${name} (directory entry not durable)`;
      if (file.pending.length > 0) return `${name} (${file.pending.length} writes not synced)`;
      if (this.inFlight.some((write) => write.file === file)) return `${name} (a write in flight)`;
    }
    return null;
  }

  /**
   * Latent corruption: flips one byte of `file` in `[from, to)`, on the
   * platter (as a bad sector would): found only when the file is read again.
   */
  corrupt(file: string, from: number, to: number): number | null {
    const found = this.names.get(file);
    if (found === undefined || to <= from || to > found.synced.length) return null;
    const at = this.prng.range(from, to - 1);
    found.synced[at] = found.synced[at]! ^ 0xff;
    if (at < found.data.length) found.data[at] = found.data[at]! ^ 0xff;
    return at;
  }

  lockDir(dir: string): { release(): void } {
    if (this.locked) throw new InUseError(`simulated data directory ${dir} is locked by a running process`);
    this.locked = true;
    return {
      release: () => {
        this.locked = false;
      },
    };
  }
}
