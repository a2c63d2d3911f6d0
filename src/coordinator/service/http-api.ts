/**
 * The coordinator's HTTP port: GET /health for operators and load balancers,
 * and a small JSON API for curl users mapped onto the same JobService code:
 *
 *   POST /v1/jobs        {"circuit", "input", "idempotency_key"?, "priority"?, "timeout_ms"?, "max_attempts"?}
 *   GET  /v1/jobs/{id}   (?stale_ok=1 for a read without the ReadIndex barrier)
 *
 * Errors are JSON {"error": {"code", "message", ...}} with an HTTP status by
 * code (docs/api.md). A write sent to a follower answers 421 Misdirected
 * Request naming the leader (id and gRPC client address); a full queue 429
 * with Retry-After.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobMessage, SubmitJobRequestMessage } from '../../api/types.ts';
import { type ErrorCode, InvalidArgumentError, NotLeaderError, ResourceExhaustedError, ZkpError } from '../../errors/index.ts';
import type { ServiceContext } from './context.ts';
import type { JobService } from './job-service.ts';

export interface HealthReport {
  status: 'ok' | 'no-leader';
  coordinator_id: string;
  pid: number;
  raft: {
    state: string;
    is_leader: boolean;
    leader_id: string | null;
    leader_address: string | null;
    node_id: string;
    term: number;
    commit_index: number;
    applied_index: number;
  };
  workers: { total: number; active: number };
  jobs: { queued: number; running: number };
}

export function healthReport(ctx: ServiceContext): HealthReport {
  const status = ctx.node.status();
  const counts = ctx.machine.counts();
  return {
    status: status.leaderId === null ? 'no-leader' : 'ok',
    coordinator_id: status.id,
    pid: process.pid,
    raft: {
      state: status.role,
      is_leader: status.role === 'leader',
      leader_id: status.leaderId,
      leader_address: status.leaderAddress,
      node_id: status.id,
      term: status.term,
      commit_index: status.commit,
      applied_index: status.applied,
    },
    workers: { total: counts.workers, active: counts.workersAlive },
    // running: jobs a worker holds (ASSIGNED or RUNNING).
    jobs: { queued: counts.queued, running: counts.assigned + counts.running },
  };
}

const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  CORRUPT_FILE: 400,
  MISMATCH: 400,
  VERIFICATION_FAILED: 400,
  NOT_FOUND: 404,
  FAILED_PRECONDITION: 409,
  IN_USE: 409,
  NOT_LEADER: 421,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  BACKEND_UNAVAILABLE: 503,
  DEVICE_LOST: 503,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown): void {
  const code: ErrorCode = error instanceof ZkpError ? error.code : 'INTERNAL';
  const body: Record<string, unknown> = { code, message: error instanceof Error ? error.message : String(error) };
  const headers: Record<string, string> = {};
  if (error instanceof NotLeaderError) {
    body.leader_id = error.leaderId;
    body.leader_address = error.leaderAddress;
  }
  if (error instanceof ResourceExhaustedError && error.retryAfter_ms !== null) {
    body.retry_after_ms = error.retryAfter_ms;
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter_ms / 1000)));
  }
  send(response, HTTP_STATUS[code], { error: body }, headers);
}

async function readBody(request: IncomingMessage, bytes_max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > bytes_max) throw new ResourceExhaustedError(`the request body is over ${bytes_max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The JSON body of POST /v1/jobs as a SubmitJob request. */
export function submitRequestOf(body: Buffer): SubmitJobRequestMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`the request body is not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('the request body must be a JSON object');
  const fields = parsed as Record<string, unknown>;
  const known = new Set(['circuit', 'input', 'idempotency_key', 'priority', 'timeout_ms', 'max_attempts']);
  for (const key of Object.keys(fields))
    if (!known.has(key)) throw new InvalidArgumentError(`unknown field ${JSON.stringify(key)} (known: ${[...known].join(', ')})`);
  if (typeof fields.circuit !== 'string' || fields.circuit === '') throw new InvalidArgumentError('"circuit" (its id or name) is required');
  const input = fields.input;
  if (input === undefined) throw new InvalidArgumentError('"input" (the circuit input signals, an object or its JSON text) is required');
  const integer = (key: string): number => {
    const value = fields[key] ?? 0;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new InvalidArgumentError(`"${key}" must be an integer, got ${JSON.stringify(value)}`);
    return value;
  };
  const key = fields.idempotency_key ?? '';
  if (typeof key !== 'string') throw new InvalidArgumentError('"idempotency_key" must be a string');
  return {
    circuit: fields.circuit,
    input_json: typeof input === 'string' ? input : JSON.stringify(input),
    input: 'input_json',
    idempotency_key: key,
    priority: integer('priority'),
    timeout_ms: integer('timeout_ms'),
    max_attempts: integer('max_attempts'),
  };
}

const JOB_PATH = /^\/v1\/jobs\/([A-Za-z0-9_.-]{1,256})$/;

export class HttpApi {
  private readonly server: Server;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly jobs: JobService,
  ) {
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => sendError(response, error));
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/health') {
      if (request.method !== 'GET') return send(response, 405, { error: { code: 'INVALID_ARGUMENT', message: 'GET /health' } });
      const report = healthReport(this.ctx);
      return send(response, report.status === 'ok' ? 200 : 503, report);
    }
    if (url.pathname === '/v1/jobs') {
      if (request.method !== 'POST') return send(response, 405, { error: { code: 'INVALID_ARGUMENT', message: 'POST /v1/jobs submits a job' } });
      const body = await readBody(request, this.ctx.options.inputMaxBytes + 64 * 1024);
      const submitted = await this.jobs.submitJob(submitRequestOf(body));
      return send(response, submitted.existing ? 200 : 201, submitted);
    }
    const match = JOB_PATH.exec(url.pathname);
    if (match !== null) {
      if (request.method !== 'GET') return send(response, 405, { error: { code: 'INVALID_ARGUMENT', message: 'GET /v1/jobs/{id}' } });
      const stale = url.searchParams.get('stale_ok');
      const job: JobMessage = await this.jobs.getJob({ job_id: match[1]!, stale_ok: stale === '1' || stale === 'true' });
      return send(response, 200, { job });
    }
    send(response, 404, {
      error: { code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname} (GET /health, POST /v1/jobs, GET /v1/jobs/{id})` },
    });
  }

  listen(address: string): Promise<number> {
    const at = address.lastIndexOf(':');
    const host = address.slice(0, at).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(at + 1));
    if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
      return Promise.reject(new InvalidArgumentError(`http listen address ${JSON.stringify(address)} is not host:port`));
    return new Promise((resolve, reject) => {
      this.server.once('error', (error) => reject(new InvalidArgumentError(`cannot listen for HTTP on ${address}: ${error.message}`, { cause: error })));
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
