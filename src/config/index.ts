/** One config system for every process: flags > environment > config file > defaults (docs/config.md). */
export {
  type ConfigEntry,
  type ConfigInput,
  type FlagSetting,
  type LoadedConfig,
  loadConfig,
  type SourceKind,
  type SplitArgs,
  splitConfigArgs,
} from './load.ts';
export { ENV_PREFIX, envNameOf, flagNamesOf, isNonConfigEnv, kebabFlagOf, NON_CONFIG_ENV, NON_CONFIG_ENV_PREFIXES } from './names.ts';
export { formatConfig } from './print.ts';
export {
  BACKEND_NAMES,
  type ClientConfig,
  type ConfigOf,
  type CoordinatorConfig,
  type DevConfig,
  type KeySpec,
  LOG_LEVELS,
  type LogLevel,
  PROCESS_KINDS,
  type ProcessKind,
  SCHEMAS,
  type WorkerConfig,
} from './schema.ts';
export { describeType, formatValue, type PeerAddresses, parseValue, type ValueType } from './values.ts';
