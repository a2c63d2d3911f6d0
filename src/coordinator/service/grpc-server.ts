/**
 * The client-facing gRPC server of a coordinator: zkp.v1 JobService,
 * WorkerService and AdminService, grpc.health.v1 and server reflection (so
 * `grpcurl -plaintext host:port list` works). The largest message it accepts
 * is set explicitly (grpc-js answers a larger one RESOURCE_EXHAUSTED
 * "Received message larger than max (N vs. M)"); uploads go in chunks well
 * below it.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import {
  ADMIN_SERVICE_NAME,
  adminServiceClient,
  JOB_SERVICE_NAME,
  jobServiceClient,
  packageDefinition,
  WORKER_SERVICE_NAME,
  workerServiceClient,
} from '../../api/load.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { shutdownServer } from '../../raft/transport/shutdown.ts';

export interface ServiceImplementations {
  readonly job: grpc.UntypedServiceImplementation;
  readonly worker: grpc.UntypedServiceImplementation;
  readonly admin: grpc.UntypedServiceImplementation;
}

export class CoordinatorGrpcServer {
  private readonly server: grpc.Server;
  readonly health: HealthImplementation;

  constructor(implementations: ServiceImplementations, messageBytesMax: number) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': messageBytesMax,
      'grpc.max_send_message_length': messageBytesMax,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1_000,
    });
    this.server.addService(jobServiceClient().service, implementations.job);
    this.server.addService(workerServiceClient().service, implementations.worker);
    this.server.addService(adminServiceClient().service, implementations.admin);
    this.health = new HealthImplementation({ '': 'SERVING', [JOB_SERVICE_NAME]: 'SERVING', [WORKER_SERVICE_NAME]: 'SERVING', [ADMIN_SERVICE_NAME]: 'SERVING' });
    this.health.addToServer(this.server);
    new ReflectionService(packageDefinition()).addToServer(this.server);
  }

  listen(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error !== null) reject(new InvalidArgumentError(`the coordinator's gRPC server cannot listen on ${address}: ${error.message}`, { cause: error }));
        else resolve(port);
      });
    });
  }

  /** Marks every service NOT_SERVING (health watchers see it), then shuts down. */
  async close(): Promise<void> {
    for (const name of ['', JOB_SERVICE_NAME, WORKER_SERVICE_NAME, ADMIN_SERVICE_NAME]) this.health.setStatus(name, 'NOT_SERVING');
    await shutdownServer(this.server, 500);
  }
}
