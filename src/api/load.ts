/**
 * The gRPC service definitions of zkp-cluster, loaded once from the .proto
 * files under proto/ (the contract; docs/api.md explains it). Messages are
 * plain objects as types.ts declares them: field names as in the .proto
 * (snake_case), 64-bit integers as numbers, enums as their names, every
 * scalar defaulted, and for a oneof the name of the field set in the oneof's
 * own name (`input: 'input_json'`).
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../runtime/package-root.ts';

/** The sources' copy, also for the compiled code (tsc copies no .proto files). */
export const PROTO_DIR = join(PACKAGE_ROOT, 'src', 'api', 'proto');
export const PROTO_FILES = ['zkp/v1/common.proto', 'zkp/v1/jobs.proto', 'zkp/v1/workers.proto', 'zkp/v1/admin.proto'] as const;

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR] };

let loaded: protoLoader.PackageDefinition | null = null;

/** The package definition (for server reflection) and the three services. */
export function packageDefinition(): protoLoader.PackageDefinition {
  loaded ??= protoLoader.loadSync([...PROTO_FILES], LOADER_OPTIONS);
  return loaded;
}

interface LoadedPackage {
  zkp: { v1: Record<string, grpc.ServiceClientConstructor> };
}

function services(): LoadedPackage['zkp']['v1'] {
  return (grpc.loadPackageDefinition(packageDefinition()) as unknown as LoadedPackage).zkp.v1;
}

function service(name: 'JobService' | 'WorkerService' | 'AdminService'): grpc.ServiceClientConstructor {
  const client = services()[name];
  if (client === undefined) throw new Error(`zkp.v1.${name} is missing from ${PROTO_FILES.join(', ')}`);
  return client;
}

export const JOB_SERVICE_NAME = 'zkp.v1.JobService';
export const WORKER_SERVICE_NAME = 'zkp.v1.WorkerService';
export const ADMIN_SERVICE_NAME = 'zkp.v1.AdminService';

export function jobServiceClient(): grpc.ServiceClientConstructor {
  return service('JobService');
}
export function workerServiceClient(): grpc.ServiceClientConstructor {
  return service('WorkerService');
}
export function adminServiceClient(): grpc.ServiceClientConstructor {
  return service('AdminService');
}
