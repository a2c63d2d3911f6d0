/**
 * One process of the dev cluster: spawned with its configuration in the
 * environment, its stderr (pino logs) appended to a log file, and its stdout
 * read for the one JSON line that says it is ready.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { UnavailableError } from '../errors/index.ts';

export interface ChildSpec {
  /** For humans and cluster.json: "coordinator a", "worker w1", "database". */
  readonly role: 'coordinator' | 'worker' | 'database';
  readonly id: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly logPath: string;
  readonly ready_ms_max: number;
}

export interface ReadyLine {
  readonly event: 'ready';
  readonly [key: string]: unknown;
}

export class DevChild {
  private child: ChildProcess | null = null;
  private log: WriteStream | null = null;
  private exited: Promise<number | null> | null = null;
  ready: ReadyLine | null = null;

  constructor(readonly spec: ChildSpec) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves with its ready line; fails naming the log file if it exits or stays silent. */
  start(): Promise<ReadyLine> {
    const log = createWriteStream(this.spec.logPath, { flags: 'a' });
    this.log = log;
    const child = spawn(process.execPath, [...this.spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.spec.env } });
    this.child = child;
    child.stderr!.pipe(log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const what = `${this.spec.role} ${this.spec.id}`;
    return new Promise<ReadyLine>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new UnavailableError(`${what} did not start within ${this.spec.ready_ms_max} ms; see ${this.spec.logPath}`)),
        this.spec.ready_ms_max,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        log.write(`[stdout] ${line}\n`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          return;
        }
        if (this.ready === null && typeof parsed === 'object' && parsed !== null && (parsed as { event?: unknown }).event === 'ready') {
          this.ready = parsed as ReadyLine;
          clearTimeout(timer);
          resolve(this.ready);
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.ready === null) reject(new UnavailableError(`${what} exited (${signal ?? `status ${code}`}) before it was ready; see ${this.spec.logPath}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `grace_ms`; resolves once the process is gone. */
  async stop(grace_ms: number): Promise<void> {
    const child = this.child;
    if (child === null || this.exited === null) return;
    if (this.running) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      if (this.running) child.kill('SIGKILL');
    }, grace_ms);
    await this.exited;
    clearTimeout(killer);
    await new Promise<void>((resolve) => (this.log === null ? resolve() : this.log.end(resolve)));
  }
}
