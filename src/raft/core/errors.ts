import { ZkpError } from '../../errors/index.ts';

/**
 * Thrown by a LogStorage when asked for entries or terms below its first
 * index (they were folded into a snapshot). The core never relies on catching
 * it: it checks firstIndex() first and sends a snapshot instead.
 */
export class CompactedError extends ZkpError {
  constructor(index: number, firstIndex: number) {
    super('NOT_FOUND', `log index ${index} is compacted (first available index is ${firstIndex})`);
  }
}
