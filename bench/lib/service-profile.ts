/**
 * With `--cpu-prof`, every coordinator, worker and floor process of the
 * service bench runs under node's --cpu-prof and writes a V8 CPU profile of
 * its main thread when it exits. This reads them back: where each process
 * spent its time, by source file and by function (self time), so the report
 * can say which part of the service the CPU went to.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileShare {
  readonly name: string;
  readonly ms: number;
  /** Of the busy (not idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly pid: number;
  readonly total_ms: number;
  readonly busy_ms: number;
  readonly byFile: ProfileShare[];
  readonly byFunction: ProfileShare[];
}

/** A source file as a short name: node_modules/<package>, a repository path, or node's own (node:...). */
function fileName(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`;
  const packaged = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(url);
  if (packaged !== null) return `node_modules/${packaged[1]}`;
  const repo = url.indexOf('/src/') >= 0 ? url.slice(url.indexOf('/src/') + 1) : url.replace(/^file:\/\//, '');
  return repo;
}

function top(map: Map<string, number>, busy_us: number, count: number): ProfileShare[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: us / 1000, share: busy_us === 0 ? 0 : us / busy_us }));
}

export function summarizeProfile(path: string, pid: number, count = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const frames = new Map<number, CallFrame>();
  for (const node of profile.nodes) frames.set(node.id, node.callFrame);
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total_us = 0;
  let idle_us = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]!);
    const us = profile.timeDeltas[i] ?? 0;
    total_us += us;
    if (frame === undefined) continue;
    if (frame.functionName === '(idle)') {
      idle_us += us;
      continue;
    }
    const file = fileName(frame.url, frame.functionName);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const busy_us = total_us - idle_us;
  return {
    file: path,
    pid,
    total_ms: total_us / 1000,
    busy_ms: busy_us / 1000,
    byFile: top(byFile, busy_us, count),
    byFunction: top(byFunction, busy_us, count),
  };
}

/** The main-thread profiles in `dir` (CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile), by pid. */
export function mainThreadProfiles(dir: string): { pid: number; path: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = /^CPU\.\d+\.\d+\.(\d+)\.0\.\d+\.cpuprofile$/.exec(name);
    return match === null ? [] : [{ pid: Number(match[1]), path: join(dir, name) }];
  });
}
