/**
 * DurableLogStorage: the LogStorage the driver persists to, on local disk.
 *
 * Directory layout (see docs/raft-driver.md):
 *   snapshot   envelope "ZKRAFTSN": generation, snapshot (metadata + state machine bytes)
 *   hardstate  envelope "ZKRAFTHS": term, vote, commit
 *   seg-<generation>-<sequence>.log   segments (segment.ts), replayed in sequence order
 *   LOCK       an exclusive flock held while the log is open (dir-lock.ts)
 *
 * The log is the snapshot (index S, term, conf, data) followed by entries
 * S+1 .. lastIndex, kept in memory too (the core reads them synchronously; this
 * is a control-plane log, small by design, compacted by snapshots).
 *
 * Durability rules:
 * - append() writes one record with one synchronized write (O_DSYNC; write
 *   then fdatasync where the file grows or the platform lacks the flag), and
 *   only then updates what this object reports (so everything it reports is
 *   on disk);
 * - term and vote are replaced atomically (temp, fdatasync, rename, fsync dir)
 *   before setHardState returns; the commit index is volatile state in Raft (a
 *   restarted node relearns it from the leader), so it is written lazily, with
 *   term/vote changes, snapshots and close, and when the driver asks before a
 *   configuration change applies (a restarted node rebuilds its configuration
 *   from the log up to this index, so it must not fall back below one it used);
 * - a snapshot installed from the leader bumps the generation: the snapshot
 *   file with the new generation is durable before the old segments are
 *   deleted, and recovery deletes segments of an older generation.
 */
import path from 'node:path';
import { assert, CorruptFileError, InvalidArgumentError } from '../../errors/index.ts';
import { readHardState, readSnapshot, writeHardState, writeSnapshot } from '../codec.ts';
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from '../types.ts';
import { decodeEnvelope, encodeEnvelope, writeFileAtomic, type Identity } from './files.ts';
import { nodeFileSystem, type LogFileSystem } from './file-system.ts';
import { encodeBatchRecord, encodeSegmentHeader, parseSegmentFileName, scanSegment, segmentFileName } from './segment.ts';
import { sliceEntries, sliceFirstIndex, sliceLastIndex, sliceTerm } from '../core/log-slice.ts';

/** How far ahead of its records a segment file is extended with zeros (capped at segment_bytes_max). */
const PREALLOCATE_BYTES = 4 * 1024 * 1024;

/** Writes all of `bytes` at `position` (repeating short writes); `position` null: at the file offset. */
function writeFully(fs: LogFileSystem, fd: number, bytes: Uint8Array, position: number | null, done: (error: Error | null) => void): void {
  let written = 0;
  const next = (): void => {
    if (written >= bytes.length) {
      done(null);
      return;
    }
    fs.write(fd, bytes, written, bytes.length - written, position === null ? null : position + written, (error, count) => {
      if (error !== null) {
        done(error);
        return;
      }
      written += count;
      next();
    });
  };
  next();
}

/** Runs callback-style steps one after another; the first error ends the chain. */
function sequence(steps: readonly ((next: (error: Error | null) => void) => void)[], done: (error: Error | null) => void): void {
  let at = 0;
  const next = (error: Error | null): void => {
    if (error !== null || at === steps.length) {
      done(error);
      return;
    }
    steps[at++]!(next);
  };
  next(null);
}

const SNAPSHOT_FILE = 'snapshot';
/** Where prepareSnapshot writes; its own name, so an InstallSnapshot from the leader (writeFileAtomic's `snapshot.tmp`) cannot clobber it. */
const PREPARED_SNAPSHOT_FILE = 'snapshot.prepared.tmp';

/** A snapshot written to disk by prepareSnapshot, not yet current. */
export interface PreparedSnapshot {
  readonly snapshot: Snapshot;
  /** The log generation it was written for; an installed snapshot from the leader makes it stale. */
  readonly generation: number;
}
const SNAPSHOT_MAGIC = 'ZKRAFTSN';
const HARD_STATE_FILE = 'hardstate';
const HARD_STATE_MAGIC = 'ZKRAFTHS';
/** Where a bootstrapped log's configuration sits (see create). */
export const BOOTSTRAP_INDEX = 1;
const BOOTSTRAP_TERM = 1;
export const SEGMENT_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

export interface DurableLogOptions {
  readonly dir: string;
  readonly clusterId: string;
  readonly nodeId: string;
  /** The initial configuration, used only when `dir` holds no log yet. */
  readonly bootstrapConf?: ConfState;
  /**
   * Used only when `dir` holds no log yet: start empty, with no configuration,
   * for a node that joins a running cluster (the leader sends it the
   * configuration once a membership change adds it). bootstrapConf is ignored.
   */
  readonly startEmpty?: boolean;
  /** A segment is closed and a new one started once it reaches this size. */
  readonly segment_bytes_max?: number;
  /** The files (the real disk by default; the simulator's own). */
  readonly fileSystem?: LogFileSystem;
}

/** What recovery found; logged by the driver, checked by tests. */
export interface RecoveryReport {
  readonly created: boolean;
  readonly segments: number;
  readonly entries: number;
  /** Bytes of a torn last record that were dropped (never acknowledged). */
  readonly tornTail_bytes: number;
  readonly tornTailFile: string | null;
  readonly staleSegmentsDeleted: number;
}

interface SegmentInfo {
  readonly name: string;
  readonly generation: number;
  readonly sequence: number;
  /** Highest entry index written to this segment (0 when empty). */
  maxIndex: number;
  size_bytes: number;
  /** File size: size_bytes plus zeros preallocated for later records. */
  allocated_bytes: number;
}

export class DurableLogStorage implements LogStorage {
  readonly dir: string;
  readonly identity: Identity;
  readonly recovery: RecoveryReport;
  private readonly segment_bytes_max: number;
  private readonly fs: LogFileSystem;

  private generation: number;
  private snap: Snapshot;
  private hard: HardState;
  /** term/vote as last written to disk (commit may lag; see the header comment). */
  private durableHard: HardState;
  private log: Entry[]; // invariant: log[i].index === snap.metadata.index + 1 + i
  private segments: SegmentInfo[]; // in sequence (write) order; the last one is active
  private activeFd: number;
  /**
   * The active segment opened a second time with O_DSYNC (-1 where the
   * platform lacks it): a record written through it is durable when the write
   * returns, so a batch costs one thread-pool round trip instead of two
   * (write, then fdatasync): about 30 us less per record on an idle disk
   * (raft-fsync-probe); on the benchmark's p99 the gain is within run-to-run
   * spread (docs/raft-driver.md).
   */
  private activeDsyncFd: number;
  private writing = false;
  private failed: Error | null = null;
  private closed = false;
  /** Held from open to close: one process at a time writes this directory. */
  private readonly dirLock: { release(): void };

  private constructor(options: DurableLogOptions) {
    this.dir = options.dir;
    this.identity = { clusterId: options.clusterId, nodeId: options.nodeId };
    this.segment_bytes_max = options.segment_bytes_max ?? SEGMENT_BYTES_MAX_DEFAULT;
    this.fs = options.fileSystem ?? nodeFileSystem;
    // Filled in by open(); these placeholders are never observed.
    this.generation = 0;
    this.snap = { metadata: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array(0) };
    this.hard = { term: 0, vote: null, commit: 0 };
    this.durableHard = this.hard;
    this.log = [];
    this.segments = [];
    this.activeFd = -1;
    this.activeDsyncFd = -1;
    // Before reading anything: another process may be writing this log.
    this.dirLock = this.fs.lockDir(options.dir);
    try {
      this.recovery = this.recover(options);
    } catch (error) {
      this.closeActive();
      this.dirLock.release();
      throw error;
    }
  }

  /** Opens (recovering) or creates the log in `options.dir`. Synchronous: run it before serving. */
  static open(options: DurableLogOptions): DurableLogStorage {
    if (options.clusterId.length === 0 || options.nodeId.length === 0) {
      throw new InvalidArgumentError('durable log: clusterId and nodeId must be non-empty');
    }
    const segment_bytes_max = options.segment_bytes_max ?? SEGMENT_BYTES_MAX_DEFAULT;
    if (!Number.isInteger(segment_bytes_max) || segment_bytes_max < 4096) {
      throw new InvalidArgumentError(`durable log: segment_bytes_max must be an integer >= 4096, got ${segment_bytes_max}`);
    }
    (options.fileSystem ?? nodeFileSystem).mkdirp(options.dir);
    return new DurableLogStorage(options);
  }

  // ---- recovery ----

  private recover(options: DurableLogOptions): RecoveryReport {
    const names = this.fs.readdir(this.dir);
    for (const name of names) {
      // Leftovers of an atomic replace that crashed before its rename: the old file is intact.
      if (name.endsWith('.tmp')) this.fs.unlink(path.join(this.dir, name));
    }
    const segmentNames = names.filter((n) => parseSegmentFileName(n) !== null);
    const hasSnapshot = names.includes(SNAPSHOT_FILE);
    const hasHardState = names.includes(HARD_STATE_FILE);

    if (!hasSnapshot && !hasHardState && segmentNames.length === 0) {
      return this.create(options);
    }
    if (!hasSnapshot) throw new CorruptFileError(`${path.join(this.dir, SNAPSHOT_FILE)} is missing but the directory holds a log`);
    if (!hasHardState) throw new CorruptFileError(`${path.join(this.dir, HARD_STATE_FILE)} is missing but the directory holds a log`);

    this.readSnapshotFile();
    this.hard = this.readHardStateFile();
    this.durableHard = this.hard;

    let staleSegmentsDeleted = 0;
    const current: { name: string; generation: number; sequence: number }[] = [];
    for (const name of segmentNames) {
      const parsed = parseSegmentFileName(name)!;
      if (parsed.generation < this.generation) {
        // Written before a snapshot from the leader replaced the whole log.
        this.fs.unlink(path.join(this.dir, name));
        staleSegmentsDeleted++;
      } else if (parsed.generation > this.generation) {
        throw new CorruptFileError(`${path.join(this.dir, name)} has generation ${parsed.generation}, newer than the snapshot's ${this.generation}`);
      } else {
        current.push({ name, ...parsed });
      }
    }
    if (staleSegmentsDeleted > 0) this.fs.fsyncDir(this.dir);
    current.sort((a, b) => a.sequence - b.sequence);

    // Replay every batch in order; a batch starting at or below the last index replaces that suffix.
    let replayed: Entry[] = [];
    let replayedStart = 0;
    let tornTail_bytes = 0;
    let tornTailFile: string | null = null;
    for (let s = 0; s < current.length; s++) {
      const info = current[s]!;
      const file = path.join(this.dir, info.name);
      const scanned = scanSegment(this.fs.readFile(file), this.identity, file);
      if (scanned.header.generation !== info.generation || scanned.header.sequence !== info.sequence) {
        throw new CorruptFileError(
          `${file}: header (generation ${scanned.header.generation}, sequence ${scanned.header.sequence}) does not match the file name`,
        );
      }
      if (scanned.tornTail_bytes > 0) {
        if (s !== current.length - 1) {
          // A segment is only followed by another after all its records were synced.
          throw new CorruptFileError(`${file}: bad record at offset ${scanned.validEnd_bytes} in a segment that is not the last`);
        }
        // The tail was never acknowledged (its fdatasync had not returned): drop it.
        const fd = this.fs.openSync(file, 'update');
        try {
          this.fs.ftruncateSync(fd, scanned.validEnd_bytes);
          this.fs.fdatasyncSync(fd);
        } finally {
          this.fs.closeSync(fd);
        }
        tornTail_bytes = scanned.tornTail_bytes;
        tornTailFile = file;
      }
      let maxIndex = 0;
      for (const batch of scanned.batches) {
        const first = batch.entries[0]!.index;
        const last = batch.entries[batch.entries.length - 1]!.index;
        maxIndex = Math.max(maxIndex, last);
        if (replayed.length === 0 || first < replayedStart) {
          replayed = [...batch.entries];
          replayedStart = first;
          continue;
        }
        const replayedEnd = replayedStart + replayed.length; // one past the last index
        if (first > replayedEnd) {
          throw new CorruptFileError(`${file}: record at offset ${batch.offset} starts at index ${first}, leaving a gap after ${replayedEnd - 1}`);
        }
        replayed.length = first - replayedStart;
        for (const e of batch.entries) replayed.push(e);
      }
      this.segments.push({
        name: info.name,
        generation: info.generation,
        sequence: info.sequence,
        maxIndex,
        size_bytes: scanned.validEnd_bytes,
        allocated_bytes: scanned.validEnd_bytes + scanned.preallocated_bytes,
      });
    }

    // After a process crash (not a power loss) the last segment may hold
    // records that reached only the page cache: recovery reads them, and the
    // node would acknowledge entries a later power loss can still take.
    // Sync it before anything is served from it (the earlier segments were
    // synced before the next one was started).
    const newest = current[current.length - 1];
    if (newest !== undefined && tornTailFile === null) {
      const fd = this.fs.openSync(path.join(this.dir, newest.name), 'update');
      try {
        this.fs.fdatasyncSync(fd);
      } finally {
        this.fs.closeSync(fd);
      }
    }

    const snapIndex = this.snap.metadata.index;
    if (replayed.length > 0) {
      if (replayedStart > snapIndex + 1) {
        throw new CorruptFileError(
          `${this.dir}: the log starts at index ${replayedStart} but the snapshot ends at ${snapIndex}; entries in between are missing`,
        );
      }
      const atSnapshot = replayed[snapIndex - replayedStart];
      if (atSnapshot !== undefined && atSnapshot.term !== this.snap.metadata.term) {
        throw new CorruptFileError(`${this.dir}: log entry ${snapIndex} has term ${atSnapshot.term} but the snapshot says ${this.snap.metadata.term}`);
      }
      this.log = replayed.slice(Math.max(0, snapIndex + 1 - replayedStart));
    }
    // Commit is written lazily and never ahead of the durable log, but clamp anyway: it is volatile state.
    const commit = Math.min(Math.max(this.hard.commit, snapIndex), this.lastIndex());
    this.hard = { ...this.hard, commit };

    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.size_bytes >= this.segment_bytes_max) {
      this.startSegment(this.lastIndex() + 1);
    } else {
      this.openActive(last.name);
    }
    return {
      created: false,
      segments: this.segments.length,
      entries: this.log.length,
      tornTail_bytes,
      tornTailFile,
      staleSegmentsDeleted,
    };
  }

  private create(options: DurableLogOptions): RecoveryReport {
    this.generation = 1;
    if (options.startEmpty === true) {
      this.snap = { metadata: { index: 0, term: 0, conf: { voters: [], learners: [] } }, data: new Uint8Array(0) };
      this.hard = { term: 0, vote: null, commit: 0 };
    } else {
      if (options.bootstrapConf === undefined) {
        throw new InvalidArgumentError(`durable log: ${this.dir} is empty and no bootstrap configuration was given`);
      }
      const conf = options.bootstrapConf;
      if (conf.voters.length === 0) throw new InvalidArgumentError(`durable log: the bootstrap configuration of ${this.dir} needs at least one voter`);
      // The bootstrap configuration is a committed snapshot at index 1, term 1,
      // not at index 0: a node that joins later starts empty, and a leader
      // sends a snapshot only to a follower that needs entries below its first
      // index. At index 0 the configuration would never be sent, and the joiner
      // would build its configuration from the later changes alone. (etcd
      // writes its bootstrap as conf-change entries for the same reason.)
      this.snap = {
        metadata: { index: BOOTSTRAP_INDEX, term: BOOTSTRAP_TERM, conf: { voters: [...conf.voters], learners: [...conf.learners] } },
        data: new Uint8Array(0),
      };
      this.hard = { term: BOOTSTRAP_TERM, vote: null, commit: BOOTSTRAP_INDEX };
    }
    this.writeSnapshotFile();
    this.writeHardStateFile(this.hard);
    this.startSegment(this.snap.metadata.index + 1);
    return { created: true, segments: 1, entries: 0, tornTail_bytes: 0, tornTailFile: null, staleSegmentsDeleted: 0 };
  }

  // ---- files ----

  private readSnapshotFile(): void {
    const file = path.join(this.dir, SNAPSHOT_FILE);
    const { body } = decodeEnvelope(this.fs.readFile(file), SNAPSHOT_MAGIC, this.identity, file);
    this.generation = body.varuint();
    this.snap = readSnapshot(body);
    body.expectEnd();
  }

  private writeSnapshotFile(): void {
    const bytes = encodeEnvelope(SNAPSHOT_MAGIC, this.identity, (w) => {
      w.varuint(this.generation);
      writeSnapshot(w, this.snap);
    });
    writeFileAtomic(this.fs, this.dir, SNAPSHOT_FILE, bytes);
  }

  private readHardStateFile(): HardState {
    const file = path.join(this.dir, HARD_STATE_FILE);
    const { body } = decodeEnvelope(this.fs.readFile(file), HARD_STATE_MAGIC, this.identity, file);
    const state = readHardState(body);
    body.expectEnd();
    return state;
  }

  private writeHardStateFile(state: HardState): void {
    const bytes = encodeEnvelope(HARD_STATE_MAGIC, this.identity, (w) => writeHardState(w, state));
    writeFileAtomic(this.fs, this.dir, HARD_STATE_FILE, bytes);
    this.durableHard = state;
  }

  /** Creates a new, empty active segment; its header is made durable before use. */
  private startSegment(firstIndex: number): void {
    this.closeActive();
    const previous = this.segments[this.segments.length - 1];
    const sequence = previous === undefined ? 1 : previous.sequence + 1;
    const name = segmentFileName(this.generation, sequence);
    const header = encodeSegmentHeader(this.identity, { generation: this.generation, sequence, firstIndex });
    writeFileAtomic(this.fs, this.dir, name, header);
    this.openActive(name);
    this.segments.push({ name, generation: this.generation, sequence, maxIndex: 0, size_bytes: header.length, allocated_bytes: header.length });
  }

  /** Opens the active segment for positional writes at size_bytes (plain and O_DSYNC). */
  private openActive(name: string): void {
    const file = path.join(this.dir, name);
    this.activeFd = this.fs.openSync(file, 'update');
    this.activeDsyncFd = this.fs.hasDsync ? this.fs.openSync(file, 'update-dsync') : -1;
  }

  private closeActive(): void {
    if (this.activeFd >= 0) this.fs.closeSync(this.activeFd);
    if (this.activeDsyncFd >= 0) this.fs.closeSync(this.activeDsyncFd);
    this.activeFd = -1;
    this.activeDsyncFd = -1;
  }

  // ---- LogStorage ----

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hard, conf: this.snap.metadata.conf };
  }

  firstIndex(): number {
    return sliceFirstIndex(this.snap.metadata);
  }

  lastIndex(): number {
    return sliceLastIndex(this.snap.metadata, this.log);
  }

  term(index: number): number {
    return sliceTerm(this.snap.metadata, this.log, index);
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return sliceEntries(this.snap.metadata, this.log, lo, hi, maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  hardState(): HardState {
    return this.hard;
  }

  // ---- writes ----

  private checkWritable(): void {
    if (this.failed !== null)
      throw new CorruptFileError(`durable log in ${this.dir} failed earlier and refuses writes: ${this.failed.message}`, { cause: this.failed });
    assert(!this.closed, 'durable log used after close');
    assert(!this.writing, 'durable log: one write at a time (the Ready loop is serial)');
  }

  /**
   * Appends consecutive entries as one record (one write, one fdatasync): the
   * group commit. Entries at or below lastIndex replace that suffix. Resolves
   * once the bytes are durable; only then do reads see the new entries.
   */
  append(entries: readonly Entry[]): Promise<void> {
    return new Promise((resolve, reject) => this.appendWith(entries, (error) => (error === null ? resolve() : reject(error))));
  }

  /** append() with a completion callback (called at once when there is nothing to write); misuse throws. */
  appendWith(entries: readonly Entry[], done: (error: Error | null) => void): void {
    this.checkWritable();
    const skip = entries.findIndex((e) => e.index > this.snap.metadata.index);
    if (entries.length === 0 || skip < 0) {
      done(null);
      return;
    }
    const batch = skip === 0 ? entries : entries.slice(skip);
    const first = batch[0]!.index;
    for (let i = 1; i < batch.length; i++) assert(batch[i]!.index === first + i, 'appended entries must be consecutive');
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);

    if (this.segments[this.segments.length - 1]!.size_bytes >= this.segment_bytes_max) this.startSegment(first);
    const active = this.segments[this.segments.length - 1]!;
    const record = encodeBatchRecord(batch);
    this.writing = true;
    // The writes and syncs run on the thread pool, so the event loop keeps
    // taking messages and proposals for the next batch. The write usually
    // only copies into the page cache (microseconds), but while other
    // processes write heavily the kernel throttles writers: a synchronous
    // write then blocks the whole node for 5-15 ms about once per thousand
    // batches (bench/results/raft-history.md, "Blocking writes").
    const end = active.size_bytes + record.length;
    const steps: ((next: (error: Error | null) => void) => void)[] = [];
    if (end <= active.allocated_bytes && this.activeDsyncFd >= 0) {
      // The common case: the record overwrites preallocated zeros, and the
      // O_DSYNC write returns once its data is on disk, as write+fdatasync.
      steps.push((next) => writeFully(this.fs, this.activeDsyncFd, record, active.size_bytes, next));
    } else {
      steps.push((next) => writeFully(this.fs, this.activeFd, record, active.size_bytes, next));
      if (end > active.allocated_bytes) {
        // Extend the file with zeros well ahead of the records (recovery reads
        // an all-zero tail as free space). Most batches then land inside the
        // file's existing size, and their sync flushes data pages only,
        // without an ext4/xfs journal commit for a new size: on a disk shared
        // with other writers that journal commit is what makes the sync slow.
        const target = Math.max(end, Math.min(this.segment_bytes_max, active.allocated_bytes + PREALLOCATE_BYTES));
        steps.push((next) => {
          if (target <= end) {
            next(null);
            return;
          }
          writeFully(this.fs, this.activeFd, Buffer.alloc(target - end), end, next);
        });
        steps.push((next) => {
          active.allocated_bytes = Math.max(end, target);
          next(null);
        });
      }
      steps.push((next) => this.fs.fdatasync(this.activeFd, next));
    }
    sequence(steps, (cause) => {
      this.writing = false;
      if (cause !== null) {
        // The file may now hold part of the record; recovery treats it as a torn tail.
        this.failed = cause;
        done(new CorruptFileError(`durable log: write to ${active.name} failed: ${cause.message}`, { cause }));
        return;
      }
      active.size_bytes += record.length;
      active.maxIndex = Math.max(active.maxIndex, batch[batch.length - 1]!.index);
      this.log.length = first - this.snap.metadata.index - 1;
      for (const e of batch) this.log.push(e);
      done(null);
    });
  }

  /**
   * Records the hard state. A new term or vote is made durable (atomic replace)
   * before this returns: a vote must never be forgotten. Commit alone is kept in
   * memory and written with the next term/vote change, snapshot or close.
   */
  /**
   * Term and vote are durable when this returns; the commit index only with
   * them, or when `commitDurable` asks for it (the driver does before a
   * configuration change applies: see ReadyLoop.finishReady).
   */
  setHardState(state: HardState, commitDurable = false): void {
    this.checkWritable();
    assert(state.term >= this.hard.term, () => `stored term must not go back: ${this.hard.term} -> ${state.term}`);
    this.hard = state;
    const clamped = this.clampedHardState();
    if (state.term !== this.durableHard.term || state.vote !== this.durableHard.vote || (commitDurable && clamped.commit > this.durableHard.commit)) {
      this.writeHardStateFile(clamped);
    }
  }

  private clampedHardState(): HardState {
    return { ...this.hard, commit: Math.min(this.hard.commit, this.lastIndex()) };
  }

  /**
   * A snapshot of this node's state machine at `index` (<= applied): written
   * atomically, then entries up to `index` are dropped and every segment that
   * holds only such entries is deleted.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    this.checkWritable();
    if (index <= this.snap.metadata.index) return this.snap;
    assert(index <= this.hard.commit, () => `snapshot index ${index} is beyond the commit index ${this.hard.commit}`);
    const term = this.term(index);
    const kept = this.log.slice(index - this.snap.metadata.index);
    this.snap = { metadata: { index, term, conf: { voters: [...conf.voters], learners: [...conf.learners] } }, data };
    this.writeSnapshotFile();
    this.log = kept;
    this.writeHardStateFile(this.clampedHardState());
    this.deleteSegmentsUpTo(index);
    return this.snap;
  }

  /**
   * The slow half of createSnapshot, off the event loop: writes the snapshot
   * at `index` to a temporary file and fdatasyncs it, changing nothing that
   * readers or recovery see (a crash leaves a `.tmp` file that open deletes).
   * Returns null when a snapshot at or after `index` is already current.
   * Finish with installSnapshot.
   *
   * Call it between appends: the log is read (the term at `index`) before
   * this returns its promise. `data` may still be in the making (a state
   * machine serialising in slices); appends may go on while it is awaited.
   */
  prepareSnapshot(index: number, conf: ConfState, data: Uint8Array | Promise<Uint8Array>): Promise<PreparedSnapshot | null> {
    return new Promise((resolve, reject) =>
      this.prepareSnapshotWith(index, conf, data, (error, prepared) => (error === null ? resolve(prepared) : reject(error))),
    );
  }

  /** prepareSnapshot() with a completion callback; misuse throws. */
  prepareSnapshotWith(
    index: number,
    conf: ConfState,
    data: Uint8Array | Promise<Uint8Array>,
    done: (error: Error | null, prepared: PreparedSnapshot | null) => void,
  ): void {
    this.checkWritable();
    if (index <= this.snap.metadata.index) {
      done(null, null);
      return;
    }
    assert(index <= this.hard.commit, () => `snapshot index ${index} is beyond the commit index ${this.hard.commit}`);
    const metadata = { index, term: this.term(index), conf: { voters: [...conf.voters], learners: [...conf.learners] } };
    const generation = this.generation;
    const write = (bytesOfState: Uint8Array): void => {
      const snapshot: Snapshot = { metadata, data: bytesOfState };
      const bytes = encodeEnvelope(
        SNAPSHOT_MAGIC,
        this.identity,
        (w) => {
          w.varuint(generation);
          writeSnapshot(w, snapshot);
        },
        snapshot.data.length + 256,
      );
      this.fs.open(path.join(this.dir, PREPARED_SNAPSHOT_FILE), 'create', (openError, fd) => {
        if (openError !== null) {
          done(openError, null);
          return;
        }
        sequence([(next) => writeFully(this.fs, fd, bytes, null, next), (next) => this.fs.fdatasync(fd, next)], (error) => {
          this.fs.close(fd, (closeError) => {
            const failure = error ?? closeError;
            if (failure !== null) done(failure, null);
            else done(null, { snapshot, generation });
          });
        });
      });
    };
    if (data instanceof Uint8Array) write(data);
    else data.then(write, (error: unknown) => done(error instanceof Error ? error : new Error(String(error)), null));
  }

  /**
   * Makes a prepared snapshot current: rename and directory fsync (the file
   * is already durable), then entries up to its index are dropped and whole
   * segments they fill deleted. Returns false and discards it when the log
   * moved past it meanwhile (a snapshot installed from the leader). Must not
   * run while an append is in flight (the Ready loop calls it between Readies).
   */
  installSnapshot(prepared: PreparedSnapshot): boolean {
    this.checkWritable();
    const temp = path.join(this.dir, PREPARED_SNAPSHOT_FILE);
    const index = prepared.snapshot.metadata.index;
    if (prepared.generation !== this.generation || index <= this.snap.metadata.index) {
      this.fs.remove(temp);
      return false;
    }
    assert(this.term(index) === prepared.snapshot.metadata.term, () => `the entry at snapshot index ${index} changed while its snapshot was written`);
    this.fs.rename(temp, path.join(this.dir, SNAPSHOT_FILE));
    this.fs.fsyncDir(this.dir);
    this.log = this.log.slice(index - this.snap.metadata.index);
    this.snap = prepared.snapshot;
    // The commit index on disk may now be below the snapshot; open raises it
    // to the snapshot's index, so no hard state write is needed here.
    this.deleteSegmentsUpTo(index);
    return true;
  }

  private deleteSegmentsUpTo(index: number): void {
    let deleted = 0;
    // Oldest first, never the active (last) segment; stop at the first one still needed.
    while (this.segments.length > 1 && this.segments[0]!.maxIndex <= index) {
      this.fs.unlink(path.join(this.dir, this.segments[0]!.name));
      this.segments.shift();
      deleted++;
    }
    if (deleted > 0) this.fs.fsyncDir(this.dir);
  }

  /**
   * Replaces the whole log by a snapshot from the leader (InstallSnapshot). The
   * new snapshot, with a new generation, is durable before any old segment is
   * deleted; recovery deletes segments of older generations.
   */
  applySnapshot(snapshot: Snapshot): void {
    this.checkWritable();
    if (snapshot.metadata.index <= this.snap.metadata.index) return;
    this.generation++;
    this.snap = snapshot;
    this.writeSnapshotFile();
    this.log = [];
    if (this.hard.commit < snapshot.metadata.index) this.hard = { ...this.hard, commit: snapshot.metadata.index };
    this.closeActive();
    for (const s of this.segments) this.fs.unlink(path.join(this.dir, s.name));
    this.segments = [];
    this.fs.fsyncDir(this.dir);
    this.startSegment(snapshot.metadata.index + 1);
    this.writeHardStateFile(this.clampedHardState());
  }

  /** Segment files currently in use (oldest first); for tests and status. */
  segmentFiles(): string[] {
    return this.segments.map((s) => path.join(this.dir, s.name));
  }

  /** Bytes of header and records in each segment (the files are longer: zeros preallocated after them). */
  segmentDataBytes(): number[] {
    return this.segments.map((s) => s.size_bytes);
  }

  close(): void {
    if (this.closed) return;
    assert(!this.writing, 'durable log closed during a write');
    if (this.failed === null) this.writeHardStateFile(this.clampedHardState());
    this.closeActive();
    this.closed = true;
    this.dirLock.release();
  }

  /**
   * Closes the files without writing anything (the owner failed and will not
   * flush); the directory lock goes with them, so the node can be reopened.
   */
  abandon(): void {
    if (this.closed) return;
    assert(!this.writing, 'durable log abandoned during a write');
    this.closeActive();
    this.closed = true;
    this.dirLock.release();
  }
}
