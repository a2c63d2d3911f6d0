/**
 * The one derivation of a key's environment name and flags from its path.
 *
 *   raft.nodeId        -> ZKP_RAFT_NODE_ID      --raft.nodeId   --raft-node-id
 *   jobs.leaseMs       -> ZKP_JOBS_LEASE_MS     --jobs.leaseMs  --jobs-lease-ms
 *   coordinators       -> ZKP_COORDINATORS      --coordinators
 *
 * The prefix is added exactly once: a key path never starts with "zkp"
 * (asserted), so there is no ZKP_ZKP_ anything.
 */
import { assert } from '../errors/index.ts';

export const ENV_PREFIX = 'ZKP_';

/** Environment variables named ZKP_* that are not config keys: never an "unknown key" error. */
export const NON_CONFIG_ENV: readonly string[] = [
  'ZKP_CONFIG', // the config file path (like --config)
  'ZKP_DEBUG', // 1: stack traces of internal errors
  'ZKP_TEST_SEED', // tests: the seed of randomised tests
  'ZKP_WEBGPU_ADAPTER',
  'ZKP_WEBGPU_BACKEND',
  'ZKP_WEBGPU_CURVE_CODE',
  'ZKP_WEBGPU_FAULT',
  'ZKP_NATIVE_THREADS',
  'ZKP_NATIVE_NO_ADX',
  'ZKP_NATIVE_NO_IFMA',
];
/** Prefixes of ZKP_* variables that are not config keys (test-only settings). */
export const NON_CONFIG_ENV_PREFIXES: readonly string[] = ['ZKP_TEST_'];

const KEY_PATH = /^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*$/;

function checkKeyPath(key: string): void {
  assert(KEY_PATH.test(key), () => `config key ${JSON.stringify(key)} is not a dotted path of camelCase segments`);
  assert(!/^zkp(\.|[A-Z]|$)/.test(key), () => `config key ${key} starts with "zkp": its environment name would double the ZKP_ prefix`);
}

/** `nodeId` -> `NODE_ID`; `inlineInputMaxBytes` -> `INLINE_INPUT_MAX_BYTES`. */
function screamingSegment(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** `nodeId` -> `node-id`. */
function kebabSegment(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** The environment variable of a key: ZKP_ + the path in SCREAMING_SNAKE_CASE. */
export function envNameOf(key: string): string {
  checkKeyPath(key);
  return ENV_PREFIX + key.split('.').map(screamingSegment).join('_');
}

/** The kebab-case flag of a key (without --): `raft.nodeId` -> `raft-node-id`. */
export function kebabFlagOf(key: string): string {
  checkKeyPath(key);
  return key.split('.').map(kebabSegment).join('-');
}

/** Every flag name (without --) of a key: the path itself, its kebab form, and any extra names. */
export function flagNamesOf(key: string, extraFlags: readonly string[] = []): string[] {
  return [...new Set([key, kebabFlagOf(key), ...extraFlags])];
}

export function isNonConfigEnv(name: string): boolean {
  return NON_CONFIG_ENV.includes(name) || NON_CONFIG_ENV_PREFIXES.some((prefix) => name.startsWith(prefix));
}
