/** Where a command writes: stdout for results, stderr for progress and errors. */
export interface CliStreams {
  readonly stdout: { write(text: string): unknown };
  /** isTTY: progress is one updating line instead of a line per change. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  /** Default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default process.cwd(). */
  readonly cwd?: string;
}
