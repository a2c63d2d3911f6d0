/**
 * The coordinator's end of its crypto process (crypto-thread.ts): one child
 * process, started on first use and again after it dies; each call is an IPC
 * message answered by id (structured clone, so bytes stay bytes). Errors come
 * back as the project's named errors.
 */
import { type ChildProcess, fork } from 'node:child_process';
import type { ErrorCode } from '../../errors/index.ts';
import { UnavailableError, ZkpError } from '../../errors/index.ts';
import { processEntry } from '../../runtime/entry.ts';
import type { InspectedCircuit, UploadedArtifacts } from './circuit-inspect.ts';
import type { CryptoReply, CryptoRequest } from './crypto-thread.ts';

/** crypto-thread.js beside the compiled coordinator; crypto-thread.ts under tsx beside the sources (tests). */
const CRYPTO_MAIN = processEntry('./crypto-thread.ts', import.meta.url);

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class CryptoPool {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private sequence = 0;
  private closed = false;

  inspect(artifacts: UploadedArtifacts, name: string): Promise<InspectedCircuit> {
    return this.call({ op: 'inspect', artifacts, name }) as Promise<InspectedCircuit>;
  }

  verify(vkey: unknown, publicSignals: unknown, proof: unknown): Promise<boolean> {
    return this.call({ op: 'verify', vkey, publicSignals, proof }) as Promise<boolean>;
  }

  /** Starts the process and loads the verifier in it (the native addon, else snarkjs and its curve; every coordinator does this at start, so a new leader verifies at once). */
  warm(): Promise<void> {
    return this.call({ op: 'warm' }).then(() => undefined);
  }

  private call(request: CryptoRequest): Promise<unknown> {
    if (this.closed) return Promise.reject(new UnavailableError('the crypto thread is closed (the coordinator is shutting down)'));
    const child = this.started();
    const id = ++this.sequence;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ id, request });
    });
  }

  private started(): ChildProcess {
    if (this.child !== null) return this.child;
    // execArgv: not the parent's (its flags are its own); stdout stays free for the parent's event lines.
    const child = fork(CRYPTO_MAIN.path, [], { execArgv: [...CRYPTO_MAIN.execArgv], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.unref();
    child.channel?.unref();
    child.on('message', (message) => {
      const reply = message as CryptoReply;
      const pending = this.pending.get(reply.id);
      if (pending === undefined) return;
      this.pending.delete(reply.id);
      if (reply.ok) pending.resolve(reply.result);
      else pending.reject(new ZkpError(reply.code as ErrorCode, reply.message));
    });
    const lost = (why: string): void => {
      if (this.child === child) this.child = null;
      const error = new UnavailableError(`the coordinator's crypto thread stopped (${why}); retry`);
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    child.on('error', (error) => lost(error.message));
    child.on('exit', (code, signal) => lost(`exit ${code ?? signal}`));
    this.child = child;
    return child;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }
}
