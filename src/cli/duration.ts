/** Durations on the command line: `500ms`, `30s`, `2m`, `1h`, `1m30s`. A bare number is refused (which unit?). */
import { InvalidArgumentError } from '../errors/index.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;

export function parseDuration_ms(text: string, option: string): number {
  const trimmed = text.trim();
  let total_ms = 0;
  let consumed = 0;
  PART.lastIndex = 0;
  for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
    total_ms += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = PART.lastIndex;
  }
  if (trimmed === '' || consumed !== trimmed.length) {
    throw new InvalidArgumentError(`${option}: "${text}" is not a duration (like 500ms, 30s, 2m, 1h, 1m30s)`);
  }
  const rounded_ms = Math.round(total_ms);
  if (rounded_ms <= 0 || !Number.isSafeInteger(rounded_ms)) throw new InvalidArgumentError(`${option}: "${text}" must be a positive duration`);
  return rounded_ms;
}

export function formatDuration_ms(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}
