export { RaftCore } from './raft.ts';
export { MemoryStorage } from './memory-storage.ts';
export { CompactedError } from './errors.ts';
export { encodeConfChange, decodeConfChange, applyConfChangeTo } from './conf-change.ts';
export type { ProgressState } from './progress.ts';
