export {
  BOOTSTRAP_INDEX,
  DurableLogStorage,
  SEGMENT_BYTES_MAX_DEFAULT,
  type DurableLogOptions,
  type PreparedSnapshot,
  type RecoveryReport,
} from './durable-log.ts';
