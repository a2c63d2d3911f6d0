/**
 * Loads the config of one process kind: flags > environment > config file >
 * defaults, each key parsed and validated, into the typed object the
 * process's composition root receives, plus where every value came from (for
 * `zkp config --print`).
 *
 * - Flags: `--raft.nodeId=a`, `--raft.nodeId a`, or the kebab form
 *   `--raft-node-id a`; a boolean alone (`--raft.join`) means true.
 *   `--config FILE` names the config file.
 * - Environment: ZKP_ + the key path in SCREAMING_SNAKE_CASE (names.ts);
 *   store.databaseUrl also reads DATABASE_URL, below ZKP_STORE_DATABASE_URL.
 *   ZKP_CONFIG names the config file (below --config).
 * - Config file: JSON, nested (`{"raft": {"nodeId": "a"}}`) or dotted
 *   (`{"raft.nodeId": "a"}`) keys.
 *
 * Unknown keys fail at start with an error naming the key and its source. A
 * key of ANOTHER process kind in the environment or the file is ignored (one
 * environment or file may serve every process of a host: the dev cluster's
 * children inherit its environment) and listed by --print; on the command
 * line it is an error. ZKP_* variables that are not config keys are listed in
 * names.ts (NON_CONFIG_ENV); any other ZKP_* variable is an error.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors/index.ts';
import { ENV_PREFIX, envNameOf, flagNamesOf, isNonConfigEnv } from './names.ts';
import { type ConfigOf, type KeySpec, PROCESS_KINDS, type ProcessKind, SCHEMAS } from './schema.ts';
import { describeType, formatValue, parseValue, redactUrl, ValueError } from './values.ts';

export type SourceKind = 'default' | 'file' | 'env' | 'flag';

export interface ConfigEntry {
  readonly key: string;
  readonly env: string;
  /** The canonical flag, with --. */
  readonly flag: string;
  /** undefined: not set (an optional key without default). */
  readonly value: unknown;
  /** The value as text for display (a secret redacted); '' for unset. */
  readonly text: string;
  readonly source: SourceKind;
  /** The flag as given, the variable name, the file path, or 'default'. */
  readonly origin: string;
  readonly spec: KeySpec;
}

export interface LoadedConfig<K extends ProcessKind> {
  readonly kind: K;
  readonly config: ConfigOf[K];
  readonly entries: readonly ConfigEntry[];
  readonly configFile: string | null;
  /** Environment variables and file keys of other process kinds, ignored here. */
  readonly ignored: readonly string[];
  /** Required keys without a value (only with `allowMissing`; otherwise loading fails). */
  readonly missing: readonly string[];
}

/** A config flag from the command line, as given. */
export interface FlagSetting {
  readonly key: string;
  /** The flag as written, e.g. `--raft-node-id`. */
  readonly flag: string;
  readonly value: string;
}

export interface ConfigInput {
  /** Config flags (from splitConfigArgs). */
  readonly flags?: readonly FlagSetting[];
  /** --config FILE (over ZKP_CONFIG). */
  readonly configPath?: string | null;
  /** Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Resolves a relative config path (default process.cwd()). */
  readonly cwd?: string;
  /** For --print: report missing required keys instead of failing. */
  readonly allowMissing?: boolean;
}

export interface SplitArgs {
  readonly flags: FlagSetting[];
  readonly configPath: string | null;
  /** Everything that is not a config flag, in order (the command's own arguments). */
  readonly rest: string[];
}

function schemaOf(kind: ProcessKind): readonly KeySpec[] {
  return SCHEMAS[kind];
}

/** The kinds whose schema has this key. */
function kindsWithKey(key: string): ProcessKind[] {
  return PROCESS_KINDS.filter((kind) => schemaOf(kind).some((spec) => spec.key === key));
}

function flagIndex(kind: ProcessKind): Map<string, KeySpec> {
  const index = new Map<string, KeySpec>();
  for (const spec of schemaOf(kind)) for (const name of flagNamesOf(spec.key, spec.extraFlags)) index.set(name, spec);
  return index;
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest key of `kind` to an unknown one (case and separators ignored, at most 2 edits away), for "did you mean". */
function suggestion(kind: ProcessKind, unknown: string): string {
  const squash = (text: string) => text.toLowerCase().replace(/[^a-z0-9]/g, '');
  const wanted = squash(unknown.replace(/^ZKP_/i, ''));
  let best: { spec: KeySpec; distance: number } | null = null;
  for (const spec of schemaOf(kind)) {
    const distance = editDistance(squash(spec.key), wanted);
    if (distance <= 2 && (best === null || distance < best.distance)) best = { spec, distance };
  }
  return best === null ? '' : `; did you mean ${best.spec.key} (${envNameOf(best.spec.key)}, --${best.spec.key})?`;
}

function unknownKeyError(kind: ProcessKind, what: string, key: string): InvalidArgumentError {
  const others = kindsWithKey(key);
  const elsewhere = others.length > 0 ? ` (it is a key of zkp ${others.join(', zkp ')})` : '';
  return new InvalidArgumentError(`unknown config key ${what} for zkp ${kind}${elsewhere}${suggestion(kind, key)}`);
}

/**
 * Takes the config flags (and --config) of `kind` out of `args`. A flag whose
 * name has a dot but is no key of `kind` is an error; other unknown flags stay
 * in `rest` for the command's own parser.
 */
export function splitConfigArgs(args: readonly string[], kind: ProcessKind): SplitArgs {
  const index = flagIndex(kind);
  const flags: FlagSetting[] = [];
  const rest: string[] = [];
  let configPath: string | null = null;
  const seen = new Map<string, string>();
  for (let at = 0; at < args.length; at++) {
    const arg = args[at]!;
    if (arg === '--') {
      rest.push(...args.slice(at));
      break;
    }
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name === 'config') {
      const value = inline ?? args[++at];
      if (value === undefined || value === '') throw new InvalidArgumentError('option --config needs a file path');
      configPath = value;
      continue;
    }
    const spec = index.get(name);
    if (spec === undefined) {
      if (name.includes('.')) throw unknownKeyError(kind, `--${name} (command line)`, name);
      rest.push(arg);
      continue;
    }
    let value: string | undefined = inline;
    if (value === undefined) {
      if (spec.type.kind === 'bool') value = 'true';
      else {
        value = args[++at];
        if (value === undefined || (value.startsWith('--') && value.length > 2)) throw new InvalidArgumentError(`option --${name} (${spec.key}) needs a value`);
      }
    }
    const earlier = seen.get(spec.key);
    if (earlier !== undefined) throw new InvalidArgumentError(`config key ${spec.key} is given twice on the command line (${earlier} and --${name})`);
    seen.set(spec.key, `--${name}`);
    flags.push({ key: spec.key, flag: `--${name}`, value });
  }
  return { flags, configPath, rest };
}

interface RawValue {
  readonly raw: unknown;
  readonly source: SourceKind;
  readonly origin: string;
}

/** Nested or dotted JSON into dotted keys; arrays and scalars are leaves. */
function flatten(value: unknown, prefix: string, out: Map<string, unknown>, file: string): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [name, inner] of Object.entries(value)) flatten(inner, prefix === '' ? name : `${prefix}.${name}`, out, file);
    return;
  }
  if (prefix === '') throw new InvalidArgumentError(`config file ${file} must hold a JSON object`);
  if (out.has(prefix)) throw new InvalidArgumentError(`config file ${file} gives ${prefix} twice (nested and dotted)`);
  out.set(prefix, value);
}

function readConfigFile(path: string, origin: string): Map<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new NotFoundError(`config file ${path} (from ${origin}) cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const flat = new Map<string, unknown>();
  flatten(parsed, '', flat, path);
  return flat;
}

function display(spec: KeySpec, value: unknown): string {
  if (value === undefined) return '';
  const text = formatValue(spec.type, value);
  return spec.secret ? redactUrl(text) : text;
}

function describeOrigin(raw: RawValue): string {
  switch (raw.source) {
    case 'flag':
      return `flag ${raw.origin}`;
    case 'env':
      return `environment ${raw.origin}`;
    case 'file':
      return `config file ${raw.origin}`;
    case 'default':
      return 'default';
  }
}

/** Loads and validates the config of `kind`; throws InvalidArgumentError/NotFoundError naming the key and its source. */
export function loadConfig<K extends ProcessKind>(kind: K, input: ConfigInput = {}): LoadedConfig<K> {
  const env = input.env ?? process.env;
  const schema = schemaOf(kind);
  const ignored: string[] = [];

  // The file.
  const configOrigin = input.configPath != null ? '--config' : env.ZKP_CONFIG !== undefined && env.ZKP_CONFIG !== '' ? 'ZKP_CONFIG' : null;
  const configPath = configOrigin === '--config' ? input.configPath! : configOrigin === 'ZKP_CONFIG' ? env.ZKP_CONFIG! : null;
  const configFile = configPath === null ? null : resolve(input.cwd ?? process.cwd(), configPath);
  const fileValues = configFile === null ? new Map<string, unknown>() : readConfigFile(configFile, configOrigin!);
  for (const key of fileValues.keys()) {
    if (schema.some((spec) => spec.key === key)) continue;
    if (kindsWithKey(key).length > 0) ignored.push(`${key} (config file)`);
    else throw unknownKeyError(kind, `${key} (config file ${configFile})`, key);
  }

  // The environment.
  const envKeys = new Map(schema.map((spec) => [envNameOf(spec.key), spec.key]));
  const otherEnvKeys = new Set(PROCESS_KINDS.flatMap((other) => schemaOf(other).map((spec) => envNameOf(spec.key))));
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || env[name] === undefined || envKeys.has(name) || isNonConfigEnv(name)) continue;
    if (otherEnvKeys.has(name)) ignored.push(`${name} (environment)`);
    else throw unknownKeyError(kind, `${name} (environment)`, name);
  }

  const flags = new Map((input.flags ?? []).map((setting) => [setting.key, setting]));
  for (const setting of flags.values()) {
    if (!schema.some((spec) => spec.key === setting.key)) throw unknownKeyError(kind, `${setting.flag} (command line)`, setting.key);
  }

  const values = new Map<string, unknown>();
  const entries: ConfigEntry[] = [];
  const missing: string[] = [];
  const rawOf = new Map<string, RawValue>();
  for (const spec of schema) {
    const envName = envNameOf(spec.key);
    let raw: RawValue | null = null;
    const flag = flags.get(spec.key);
    if (flag !== undefined) raw = { raw: flag.value, source: 'flag', origin: flag.flag };
    else if (env[envName] !== undefined) raw = { raw: env[envName], source: 'env', origin: envName };
    else {
      const extra = (spec.extraEnv ?? []).find((name) => env[name] !== undefined);
      if (extra !== undefined) raw = { raw: env[extra], source: 'env', origin: extra };
      else if (fileValues.has(spec.key)) raw = { raw: fileValues.get(spec.key), source: 'file', origin: configFile! };
    }
    let value: unknown;
    if (raw !== null) {
      try {
        value = parseValue(spec.type, raw.raw);
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        throw new InvalidArgumentError(`config key ${spec.key} (${describeOrigin(raw)}): ${error.message}; expected ${describeType(spec.type)}`);
      }
    } else {
      raw = { raw: undefined, source: 'default', origin: 'default' };
      if (spec.default !== undefined) value = 'value' in spec.default ? spec.default.value : spec.default.derive(values);
      if (value === undefined && spec.required) {
        if (!input.allowMissing) {
          throw new InvalidArgumentError(
            `config key ${spec.key} is required for zkp ${kind}: set --${spec.key}, ${envName} or "${spec.key}" in the config file (--config / ZKP_CONFIG)`,
          );
        }
        missing.push(spec.key);
      }
    }
    if (value !== undefined) values.set(spec.key, value);
    rawOf.set(spec.key, raw);
    entries.push({ key: spec.key, env: envName, flag: `--${spec.key}`, value, text: display(spec, value), source: raw.source, origin: raw.origin, spec });
  }

  if (missing.length === 0) checkTogether(kind, values, (key) => describeOrigin(rawOf.get(key)!));
  return { kind, config: nest(values) as unknown as ConfigOf[K], entries, configFile, ignored, missing };
}

/** Rules between keys. */
function checkTogether(kind: ProcessKind, values: ReadonlyMap<string, unknown>, origin: (key: string) => string): void {
  if (kind === 'dev') {
    const coordinators = values.get('dev.coordinators') as number;
    if (![1, 3, 5].includes(coordinators))
      throw new InvalidArgumentError(`config key dev.coordinators (${origin('dev.coordinators')}) must be 1, 3 or 5, got ${coordinators}`);
  }
  if (kind !== 'coordinator') return;
  const nodeId = values.get('raft.nodeId') as string;
  const peers = values.get('raft.peers') as ReadonlyMap<string, unknown>;
  if (!peers.has(nodeId)) {
    throw new InvalidArgumentError(
      `config key raft.nodeId (${origin('raft.nodeId')}) is ${JSON.stringify(nodeId)}, which raft.peers (${origin('raft.peers')}) does not list (peers: ${[...peers.keys()].join(', ')})`,
    );
  }
  const heartbeat = values.get('raft.heartbeatTicks') as number;
  const election = values.get('raft.electionTicks') as number;
  if (heartbeat >= election) {
    throw new InvalidArgumentError(
      `config key raft.heartbeatTicks (${origin('raft.heartbeatTicks')}) is ${heartbeat}, not below raft.electionTicks (${origin('raft.electionTicks')}) ${election}`,
    );
  }
}

function nest(values: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of values) {
    const path = key.split('.');
    let node = root;
    for (const segment of path.slice(0, -1)) {
      node[segment] ??= {};
      node = node[segment] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
  return root;
}
