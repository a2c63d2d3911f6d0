/**
 * Progress of a ladder run on stderr: on a terminal, one bar redrawn in place
 * under the log lines; otherwise (a pipe, a CI log) plain lines only, one per
 * step, so nothing is lost to carriage returns.
 */

export interface ProgressSink {
  readonly isTTY: boolean;
  readonly columns?: number;
  write(text: string): void;
}

const BAR_WIDTH = 28;

export class LadderProgress {
  private done = 0;
  private current = '';
  private readonly started_ms = performance.now();

  constructor(
    private total: number,
    private readonly sink: ProgressSink = process.stderr,
  ) {}

  /** Steps were added or dropped (a build needed, a backend skipped). */
  setTotal(total: number): void {
    this.total = Math.max(total, this.done);
    this.redraw();
  }

  /** A log line: above the bar on a terminal, a plain line elsewhere. */
  say(line: string): void {
    if (this.sink.isTTY) this.sink.write(`\r\x1b[2K${line}\n`);
    else this.sink.write(`${line}\n`);
    this.redraw();
  }

  /** A step begins (what it is, e.g. "synthetic-14 native cold 2/3"). */
  begin(label: string): void {
    this.current = label;
    if (!this.sink.isTTY) this.sink.write(`[${this.done + 1}/${this.total}] ${label}\n`);
    this.redraw();
  }

  /** A step ended. */
  step(): void {
    this.done = Math.min(this.done + 1, this.total);
    this.redraw();
  }

  /** Clears the bar (the terminal keeps the log lines). */
  finish(): void {
    if (this.sink.isTTY) this.sink.write('\r\x1b[2K');
  }

  /** The bar's text, e.g. "[#######---------------------]  25% 3/12 1m04s synthetic-14 native cold 2/3". */
  bar(): string {
    const fraction = this.total === 0 ? 1 : this.done / this.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const elapsed_s = Math.round((performance.now() - this.started_ms) / 1000);
    const clock = `${Math.floor(elapsed_s / 60)}m${String(elapsed_s % 60).padStart(2, '0')}s`;
    const text = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${this.done}/${this.total} ${clock} ${this.current}`;
    const columns = this.sink.columns ?? 100;
    return text.length >= columns ? text.slice(0, columns - 1) : text;
  }

  private redraw(): void {
    if (this.sink.isTTY) this.sink.write(`\r\x1b[2K${this.bar()}`);
  }
}
