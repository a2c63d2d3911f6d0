/**
 * fdatasync latency of this disk alone, the floor under the Raft commit
 * latency (every commit waits for at least one follower's fdatasync):
 *
 *   npx tsx bench/lib/raft-fsync-probe.ts [--syncs 2000] [--record-bytes 300] [--dir /tmp]
 *
 * Two ways of writing the log, each `syncs` times a record then fdatasync:
 * - append: every write grows the file, so each fdatasync also commits the
 *   new file size through the filesystem journal (the storage's old way);
 * - preallocated: records overwrite zeros already in the file (the storage
 *   extends its segments 4 MiB ahead), so fdatasync flushes data pages only.
 * Then, as the storage does it on the thread pool (async), the whole round
 * trip of a preallocated record: write then fdatasync (two hops) against one
 * write through an O_DSYNC descriptor (one hop, what durable-log.ts uses).
 * Prints p50/p90/p99/max in ms and the load average, for bench/results notes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { percentile } from './raft-load.ts';

const { values } = parseArgs({
  options: {
    syncs: { type: 'string', default: '2000' },
    'record-bytes': { type: 'string', default: '300' },
    dir: { type: 'string', default: os.tmpdir() },
  },
  strict: true,
});
const syncs = Number(values.syncs);
const record_bytes = Number(values['record-bytes']);
if (!Number.isInteger(syncs) || syncs < 1) throw new Error(`--syncs must be a positive integer, got ${values.syncs}`);
if (!Number.isInteger(record_bytes) || record_bytes < 1) throw new Error(`--record-bytes must be a positive integer, got ${values['record-bytes']}`);

function summary(name: string, latencies_ms: number[]): string {
  latencies_ms.sort((a, b) => a - b);
  const at = (p: number) => percentile(latencies_ms, p).toFixed(3);
  return `${name.padEnd(13)} p50 ${at(50)}  p90 ${at(90)}  p99 ${at(99)}  max ${latencies_ms[latencies_ms.length - 1]!.toFixed(3)} ms`;
}

function probe(dir: string, name: string, preallocate: boolean): string {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w+');
  try {
    if (preallocate) {
      fs.writeSync(fd, Buffer.alloc(syncs * record_bytes + 4096), 0, syncs * record_bytes + 4096, 0);
      fs.fsyncSync(fd);
    }
    const record = Buffer.alloc(record_bytes, 7);
    const latencies_ms: number[] = [];
    for (let i = 0; i < syncs; i++) {
      fs.writeSync(fd, record, 0, record.length, i * record_bytes);
      const started_ms = performance.now();
      fs.fdatasyncSync(fd);
      latencies_ms.push(performance.now() - started_ms);
    }
    return summary(name, latencies_ms);
  } finally {
    fs.closeSync(fd);
  }
}

const writeAsync = promisify(fs.write);
const fdatasyncAsync = promisify(fs.fdatasync);

async function probeAsync(dir: string, name: string, dsync: boolean): Promise<string> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.alloc(syncs * record_bytes + 4096));
  const O_DSYNC = (fs.constants as Record<string, number | undefined>).O_DSYNC;
  if (dsync && O_DSYNC === undefined) return `${name.padEnd(13)} (no O_DSYNC on this platform)`;
  const fd = fs.openSync(file, dsync ? fs.constants.O_RDWR | O_DSYNC! : fs.constants.O_RDWR);
  try {
    fs.fsyncSync(fd);
    const record = Buffer.alloc(record_bytes, 7);
    const latencies_ms: number[] = [];
    for (let i = 0; i < syncs; i++) {
      const started_ms = performance.now();
      await writeAsync(fd, record, 0, record.length, i * record_bytes);
      if (!dsync) await fdatasyncAsync(fd);
      latencies_ms.push(performance.now() - started_ms);
    }
    return summary(name, latencies_ms);
  } finally {
    fs.closeSync(fd);
  }
}

const dir = fs.mkdtempSync(path.join(values.dir, 'raft-fsync-probe-'));
try {
  console.log(
    `fdatasync of ${record_bytes}-byte records, ${syncs} each, in ${dir}; load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(probe(dir, 'append', false));
  console.log(probe(dir, 'preallocated', true));
  console.log(await probeAsync(dir, 'async w+sync', false));
  console.log(await probeAsync(dir, 'async O_DSYNC', true));
  console.log(
    `load average after ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
