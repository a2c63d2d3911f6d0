/**
 * Which coordinators a client command talks to: `coordinators` from the
 * config (--coordinators, ZKP_COORDINATORS, the file), else the dev cluster's
 * <dev.stateDir>/cluster.json (default .zkp/dev/cluster.json in the current
 * directory), which `zkp dev` writes.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClientConfig } from '../config/index.ts';
import { CorruptFileError, InvalidArgumentError } from '../errors/index.ts';

export const CLUSTER_FILE_NAME = 'cluster.json';

interface ClusterFileShape {
  readonly processes?: readonly { readonly role?: unknown; readonly grpc?: unknown }[];
}

/** The coordinator addresses of a dev cluster file; throws naming the file when it is missing or has none. */
export function coordinatorsFromClusterFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InvalidArgumentError(
      `no coordinators given and no dev cluster here (${path} does not exist): give --coordinators host:port,... or ZKP_COORDINATORS, or start one with zkp dev`,
    );
  }
  let parsed: ClusterFileShape;
  try {
    parsed = JSON.parse(text) as ClusterFileShape;
  } catch (error) {
    throw new CorruptFileError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const addresses = (parsed.processes ?? []).filter((p) => p.role === 'coordinator' && typeof p.grpc === 'string').map((p) => p.grpc as string);
  if (addresses.length === 0) throw new CorruptFileError(`${path} lists no coordinator with a grpc address`);
  return addresses;
}

export function resolveCoordinators(config: ClientConfig, cwd: string): string[] {
  if (config.coordinators.length > 0) return [...config.coordinators];
  return coordinatorsFromClusterFile(join(resolve(cwd, config.dev.stateDir), CLUSTER_FILE_NAME));
}
