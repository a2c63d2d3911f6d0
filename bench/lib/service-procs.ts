/**
 * One process of the service bench (the embedded database, a coordinator, a
 * worker, the floor): spawned with its configuration in the environment, its
 * stderr (pino logs) appended to a log file, and its stdout read for JSON
 * event lines ({"event":"ready"} once serving; coordinators also print
 * "leader-change"). It can be killed with SIGKILL (the failover trials) and
 * started again with the same spec; its CPU time, children included (a
 * coordinator's crypto process), is read from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { processCpu_ms } from './proc-cpu.ts';

export interface ProcSpec {
  /** For messages: "coordinator a", "worker w1". */
  readonly label: string;
  /** Arguments to node (the script first). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logPath: string;
  readonly ready_ms_max: number;
}

export interface ProcEvent {
  readonly event: string;
  /** performance.now() in this process when the line was read. */
  readonly seen_ms: number;
  readonly [key: string]: unknown;
}

/** Every BenchProcess running now, so an interrupted bench can end them all (killAllBenchProcesses). */
const LIVE = new Set<BenchProcess>();

/** SIGKILL to every process this bench started that still runs (the bench was interrupted). */
export function killAllBenchProcesses(): void {
  for (const proc of LIVE) proc.killNow();
}

export class BenchProcess {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #log: WriteStream | null = null;
  #listeners = new Set<(event: ProcEvent) => void>();
  /** Every event line of the current run (cleared by start()). */
  events: ProcEvent[] = [];
  /** The pid of every run, oldest first (a restarted coordinator has several). */
  readonly pids: number[] = [];
  /** The last lines of stderr, for the error message when it dies. */
  #stderrTail = '';

  constructor(readonly spec: ProcSpec) {}

  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  get running(): boolean {
    const child = this.#child;
    return child !== null && child.exitCode === null && child.signalCode === null;
  }

  /** Calls `listener` with every event line until the returned function is called. */
  onEvent(listener: (event: ProcEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts the process; resolves with its ready line, or fails naming the log file. */
  start(): Promise<ProcEvent> {
    if (this.running) throw new Error(`${this.spec.label} is already running`);
    this.events = [];
    this.#stderrTail = '';
    this.#log ??= createWriteStream(this.spec.logPath, { flags: 'a' });
    const log = this.#log;
    const child = spawn(process.execPath, [...this.spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.spec.env } });
    this.#child = child;
    if (child.pid !== undefined) this.pids.push(child.pid);
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    LIVE.add(this);
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        LIVE.delete(this);
        resolve();
      }),
    );
    return new Promise<ProcEvent>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        reject(new Error(`${this.spec.label} did not start within ${this.spec.ready_ms_max} ms; see ${this.spec.logPath}`));
      }, this.spec.ready_ms_max);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        log.write(`[stdout] ${line}\n`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          return;
        }
        if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { event?: unknown }).event !== 'string') return;
        const event = { ...(parsed as { event: string }), seen_ms: performance.now() } as ProcEvent;
        this.events.push(event);
        for (const listener of this.#listeners) listener(event);
        if (!ready && event.event === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve(event);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (!ready) {
          reject(
            new Error(
              `${this.spec.label} exited (${signal ?? `status ${code}`}) before it was ready; see ${this.spec.logPath}; last stderr:\n${this.#stderrTail}`,
            ),
          );
        }
      });
    });
  }

  /** SIGKILL to the process and its descendants, without waiting (the bench is being interrupted). */
  killNow(): void {
    const child = this.#child;
    if (child === null || !this.running) return;
    const descendants = identities(descendantPids(child.pid!));
    child.kill('SIGKILL');
    for (const descendant of descendants) killIfSame(descendant);
  }

  /** SIGKILL (no clean-up, like a crash); resolves once the process is gone. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (child === null || !this.running) return;
    const descendants = identities(descendantPids(child.pid!));
    child.kill('SIGKILL');
    await this.#exited;
    // A coordinator's crypto process exits with its IPC channel; make sure no descendant outlives the kill.
    for (const descendant of descendants) killIfSame(descendant);
  }

  /** SIGTERM, then SIGKILL after `grace_ms`; resolves once the process is gone. */
  async stop(grace_ms: number): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    if (this.running) {
      const descendants = identities(descendantPids(child.pid!));
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        if (this.running) child.kill('SIGKILL');
      }, grace_ms);
      await this.#exited;
      clearTimeout(killer);
      for (const descendant of descendants) killIfSame(descendant);
    }
    await new Promise<void>((resolve) => (this.#log === null ? resolve() : this.#log.end(resolve)));
    this.#log = null;
  }

  /** Resolves once what the process wrote to stderr so far (and this process has read) is in its log file. */
  flushLog(): Promise<void> {
    const log = this.#log;
    if (log === null) return Promise.resolve();
    return new Promise((resolve) => log.write('', () => resolve()));
  }

  /** CPU ms (user + system) of the process and its descendants so far; null when not running or not on Linux. */
  cpu_ms(): number | null {
    const pid = this.pid;
    if (pid === null || !this.running) return null;
    let total = 0;
    for (const each of [pid, ...descendantPids(pid)]) {
      const cpu = processCpu_ms(each);
      if (cpu === null) {
        if (each === pid) return null;
        continue;
      }
      total += cpu;
    }
    return total;
  }
}

/** Children, grandchildren, ... of `pid` (Linux /proc; empty elsewhere). */
export function descendantPids(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number, depth: number): void => {
    if (depth > 8) return;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let text: string;
      try {
        text = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of text.split(' ').filter((s) => s.trim() !== '')) {
        const childPid = Number(child);
        if (!Number.isInteger(childPid) || found.includes(childPid)) continue;
        found.push(childPid);
        visit(childPid, depth + 1);
      }
    }
  };
  visit(pid, 0);
  return found;
}

/** A process by pid and start time (a pid alone may be reused once the process is gone). */
interface ProcessIdentity {
  readonly pid: number;
  readonly started: string;
}

function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function identities(pids: readonly number[]): ProcessIdentity[] {
  return pids.flatMap((pid) => {
    const started = startTimeOf(pid);
    return started === null ? [] : [{ pid, started }];
  });
}

/** SIGKILL to the process if it still is the one recorded (same pid and start time). */
function killIfSame(identity: ProcessIdentity): void {
  if (startTimeOf(identity.pid) !== identity.started) return;
  try {
    process.kill(identity.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
