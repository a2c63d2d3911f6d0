/**
 * Lets a repeated log line through once per interval per key: a refused or
 * misrouted peer retries every few hundred ms, and its error should be seen,
 * not flood the log.
 */
/** How often the transport repeats one peer's refusal or misrouting error. */
export const REPEATED_LOG_MS = 10_000;

export class LogLimiter {
  private readonly last_ms = new Map<string, number>();

  constructor(private readonly interval_ms: number) {}

  /** True if a line with this key may be logged now; then it is counted as logged. */
  allow(key: string, now_ms = Date.now()): boolean {
    const last = this.last_ms.get(key);
    if (last !== undefined && now_ms - last < this.interval_ms) return false;
    // Keys are few (one per peer and reason); forget old ones so a long-lived node cannot grow this.
    if (this.last_ms.size >= 256) this.last_ms.clear();
    this.last_ms.set(key, now_ms);
    return true;
  }
}
