/**
 * The coordinator's HTTP port (/health, the JSON API), grpc.health.v1, server
 * reflection (what grpcurl uses), AdminService, the worker calls' redirects
 * and stale reports, backpressure, and a cluster without a store.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.ts';
import type { ClusterStatusMessage, JobMessage } from '../../src/api/types.ts';
import { startCoordinator } from '../../src/coordinator/main.ts';
import {
  circuitFiles,
  Clients,
  eventually,
  freshDatabase,
  grpcError,
  InProcessCluster,
  metadataOf,
  mulchain,
  onLeader,
  uploadCircuit,
} from './service-harness.ts';

let database: Awaited<ReturnType<typeof freshDatabase>>;
let cluster: InProcessCluster;
const opened: Clients[] = [];

function clientsOf(address: string): Clients {
  const clients = new Clients(address);
  opened.push(clients);
  return clients;
}

beforeAll(async () => {
  database = await freshDatabase('zkp_service_http');
  cluster = await InProcessCluster.start(3, { databaseUrl: database.url, jobs: { queueMax: 3, lease_ms: 1_000 } });
  const files = circuitFiles(await mulchain(), 'mulchain');
  await onLeader(cluster.addresses(), clientsOf, (clients) => uploadCircuit(clients, files), 60_000);
});

afterAll(async () => {
  for (const clients of opened) clients.close();
  await cluster?.close();
  await database?.drop();
});

async function http(
  address: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`http://${address}${route}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describe('coordinator HTTP, health, reflection and admin', () => {
  it('GET /health answers exactly the documented fields on every node', async () => {
    const leader = await cluster.leader();
    for (const node of cluster.nodes.values()) {
      const { status, json } = await http(node.httpAddress, 'GET', '/health');
      expect(status).toBe(200);
      expect(Object.keys(json).sort()).toEqual(['coordinator_id', 'jobs', 'pid', 'raft', 'status', 'workers']);
      expect(Object.keys(json.raft as object).sort()).toEqual(
        ['applied_index', 'commit_index', 'is_leader', 'leader_address', 'leader_id', 'node_id', 'state', 'term'].sort(),
      );
      expect(Object.keys(json.workers as object).sort()).toEqual(['active', 'total']);
      expect(Object.keys(json.jobs as object).sort()).toEqual(['queued', 'running']);
      const raft = json.raft as Record<string, unknown>;
      expect(json.status).toBe('ok');
      expect(json.coordinator_id).toBe(node.id);
      expect(json.pid).toBe(process.pid);
      expect(raft.is_leader).toBe(node === leader);
      expect(raft.leader_id).toBe(leader.id);
      expect(raft.leader_address).toBe(leader.grpcAddress);
      expect(raft.state).toBe(node === leader ? 'leader' : 'follower');
    }
  });

  it('POST /v1/jobs and GET /v1/jobs/{id} map onto the job service; a follower answers 421 naming the leader', async () => {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const created = await http(leader.httpAddress, 'POST', '/v1/jobs', { circuit: 'mulchain', input: { a: '1', b: '2' }, idempotency_key: 'http-1' });
    expect(created.status).toBe(201);
    const job = created.json.job as JobMessage;
    expect(job.state).toBe('QUEUED');
    const again = await http(leader.httpAddress, 'POST', '/v1/jobs', { circuit: 'mulchain', input: { a: '1', b: '2' }, idempotency_key: 'http-1' });
    expect(again.status).toBe(200);
    expect((again.json.job as JobMessage).id).toBe(job.id);
    const read = await http(follower.httpAddress, 'GET', `/v1/jobs/${job.id}`);
    expect(read.status).toBe(200);
    expect((read.json.job as JobMessage).id).toBe(job.id);
    const redirected = await http(follower.httpAddress, 'POST', '/v1/jobs', { circuit: 'mulchain', input: { a: '1', b: '2' } });
    expect(redirected.status).toBe(421);
    expect(redirected.json.error).toMatchObject({ code: 'NOT_LEADER', leader_id: leader.id, leader_address: leader.grpcAddress });
    const malformed = await http(leader.httpAddress, 'POST', '/v1/jobs', '{"circuit": ');
    expect(malformed.status).toBe(400);
    expect((malformed.json.error as { message: string }).message).toContain('not JSON');
    const missing = await http(leader.httpAddress, 'GET', '/v1/jobs/job-999999');
    expect(missing.status).toBe(404);
    await clientsOf(leader.grpcAddress).call('job', 'CancelJob', { job_id: job.id });
  });

  it('a full queue answers RESOURCE_EXHAUSTED with a retry hint (gRPC) and 429 with Retry-After (HTTP)', async () => {
    const leader = await cluster.leader();
    const c = clientsOf(leader.grpcAddress);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push((await c.call<{ job: JobMessage }>('job', 'SubmitJob', { circuit: 'mulchain', input_json: `{"a":"${i}","b":"3"}` })).job.id);
    const full = await grpcError(c.call('job', 'SubmitJob', { circuit: 'mulchain', input_json: '{"a":"9","b":"3"}' }));
    expect(full.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(full.details).toContain('job queue full');
    expect(Number(metadataOf(full, 'zkp-retry-after-ms'))).toBeGreaterThan(0);
    const overHttp = await http(leader.httpAddress, 'POST', '/v1/jobs', { circuit: 'mulchain', input: { a: '9', b: '3' } });
    expect(overHttp.status).toBe(429);
    expect(Number(overHttp.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const id of ids) await c.call('job', 'CancelJob', { job_id: id });
  });

  it('serves grpc.health.v1 and server reflection (grpcurl list)', async () => {
    const node = await cluster.follower();
    const require = createRequire(import.meta.url);
    const healthProto = require('grpc-health-check').protoPath as string;
    const reflectionProto = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
    const loaded = grpc.loadPackageDefinition(protoLoader.loadSync([healthProto, reflectionProto], { keepCase: true, enums: String })) as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } }; reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const health = new loaded.grpc.health.v1.Health(node.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Check(request: object, callback: (error: grpc.ServiceError | null, response: { status: string }) => void): void;
    };
    const checked = await new Promise<{ status: string }>((resolve, reject) =>
      health.Check({ service: 'zkp.v1.JobService' }, (error, response) => (error !== null ? reject(error) : resolve(response))),
    );
    expect(checked.status).toBe('SERVING');
    health.close();
    const reflection = new loaded.grpc.reflection.v1.ServerReflection(node.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }>;
    };
    const stream = reflection.ServerReflectionInfo();
    const listed = await new Promise<string[]>((resolve, reject) => {
      stream.on('data', (response) => resolve((response.list_services_response?.service ?? []).map((s: { name: string }) => s.name)));
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.end();
    reflection.close();
    expect(listed).toEqual(expect.arrayContaining(['zkp.v1.JobService', 'zkp.v1.WorkerService', 'zkp.v1.AdminService']));
  });

  it('AdminService: status from any node lists every coordinator; leadership transfers on request', async () => {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const status = await clientsOf(follower.grpcAddress).call<ClusterStatusMessage>('admin', 'Status', {});
    expect(status.answered_by).toBe(follower.id);
    expect(status.leader_id).toBe(leader.id);
    expect(status.coordinators.map((c) => c.id).sort()).toEqual(['c1', 'c2', 'c3']);
    for (const entry of status.coordinators) {
      expect(entry.reachable).toBe(true);
      expect(entry.role).toBe(entry.id === leader.id ? 'leader' : 'follower');
      expect(entry.health_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
    }
    const moved = await clientsOf(leader.grpcAddress).call<ClusterStatusMessage>('admin', 'TransferLeadership', { to: follower.id }, 10_000);
    expect(moved.leader_id).toBe(follower.id);
    const next = await cluster.leader();
    expect(next.id).toBe(follower.id);
  });

  it('worker calls: a follower redirects Register; stale reports are answered accepted:false; an unknown worker must register', async () => {
    const leader = await cluster.leader();
    const follower = await cluster.follower();
    const worker = { id: 'w-edge', address: 'here', backends: ['native'], threads: 1, slots: 1, resident_circuits: [] };
    const redirect = await grpcError(clientsOf(follower.grpcAddress).call('worker', 'Register', { worker }));
    expect(redirect.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(metadataOf(redirect, 'zkp-leader-address')).toBe(leader.grpcAddress);
    const c = clientsOf(leader.grpcAddress);
    const registered = await c.call<{ worker_id: string; lease_ms: number }>('worker', 'Register', { worker });
    expect(registered).toEqual({ worker_id: 'w-edge', lease_ms: 1_000 });
    const late = await c.call<{ accepted: boolean; reason: string }>('worker', 'Complete', {
      worker_id: 'w-edge',
      job_id: 'job-1',
      attempt: 7,
      proof_json: '{}',
      public_json: '[]',
    });
    expect(late.accepted).toBe(false);
    expect(late.reason).toMatch(/job-1/);
    const unknown = await grpcError(c.call('worker', 'Heartbeat', { worker_id: 'w-nobody', running_jobs: [], resident_circuits: [] }));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toContain('register again');
    const bad = await grpcError(c.call('worker', 'Register', { worker: { ...worker, backends: [] } }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    // Without heartbeats its lease runs out: the tick declares it dead.
    await eventually('the silent worker to be declared dead', () => (leader.machine.worker('w-edge')?.alive === false ? true : undefined), 10_000);
    expect((await c.call<{ accepted: boolean }>('worker', 'Deregister', { worker_id: 'w-edge' })).accepted).toBe(true);
  });
});

describe('membership through AdminService', () => {
  it('adds a joining coordinator as a learner, promotes it to a voter, and removes it', async () => {
    const leader = await cluster.leader();
    const admin = clientsOf(leader.grpcAddress);
    const peers = new Map(cluster.peers);
    const addresses = { raftAddress: `127.0.0.1:${await freePort()}`, clientAddress: `127.0.0.1:${await freePort()}` };
    peers.set('c4', addresses);
    const c4 = await startCoordinator({
      nodeId: 'c4',
      clusterId: 'test',
      peers,
      dataDir: path.join(cluster.dir, 'c4'),
      join: true,
      raft: { tick_ms: 10, electionTicks: 20, heartbeatTicks: 2 },
      databaseUrl: database.url,
    });
    try {
      const added = await admin.call<ClusterStatusMessage>('admin', 'AddCoordinator', {
        id: 'c4',
        raft_address: addresses.raftAddress,
        client_address: addresses.clientAddress,
        as_learner: true,
      });
      expect(added.coordinators.find((c) => c.id === 'c4')?.role).toBe('learner');
      await eventually('c4 to catch up', () => (c4.node.status().applied >= leader.node.status().commit ? true : undefined));
      const promoted = await admin.call<ClusterStatusMessage>('admin', 'AddCoordinator', { id: 'c4', as_learner: false });
      const entry = promoted.coordinators.find((c) => c.id === 'c4');
      expect(entry?.role).toBe('follower');
      expect(entry?.reachable).toBe(true);
      const half = await grpcError(admin.call('admin', 'AddCoordinator', { id: 'c5', raft_address: '127.0.0.1:1' }));
      expect(half.code).toBe(grpc.status.INVALID_ARGUMENT);
      const removed = await admin.call<ClusterStatusMessage>('admin', 'RemoveCoordinator', { id: 'c4' });
      expect(removed.coordinators.map((c) => c.id).sort()).toEqual(['c1', 'c2', 'c3']);
    } finally {
      await c4.close();
    }
  });
});

describe('a coordinator without a store', () => {
  it('refuses circuit uploads with a message that says why', async () => {
    const lone = await InProcessCluster.start(1);
    try {
      const leader = await lone.leader();
      const error = await grpcError(uploadCircuit(clientsOf(leader.grpcAddress), circuitFiles(await mulchain(), 'mulchain')));
      expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
      expect(error.details).toContain('runs without one (store.databaseUrl / DATABASE_URL is empty)');
      const health = await http(leader.httpAddress, 'GET', '/health');
      expect((health.json.raft as { is_leader: boolean }).is_leader).toBe(true);
    } finally {
      await lone.close();
    }
  });
});
