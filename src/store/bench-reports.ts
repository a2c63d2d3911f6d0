/**
 * Benchmark reports as JSON documents, kept for the capacity planner and for
 * comparing runs. Minimal on purpose: write one, read the latest of a kind.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import type { Database } from './database.ts';

export interface BenchReport {
  readonly id: number;
  readonly kind: string;
  readonly report: Record<string, unknown>;
  readonly created_ms: number;
}

const KIND_PATTERN = /^[a-z0-9][a-z0-9._:-]{0,63}$/;

export class BenchReports {
  constructor(private readonly database: Database) {}

  /** Stores `report` (any JSON object) under `kind` (e.g. "service", "prover"); returns its id. */
  async put(kind: string, report: Record<string, unknown>): Promise<{ id: number }> {
    checkKind(kind);
    if (typeof report !== 'object' || report === null || Array.isArray(report)) throw new InvalidArgumentError('a bench report must be a JSON object');
    const result = await this.database.query<{ id: string }>(
      { text: 'INSERT INTO bench_reports (kind, report) VALUES ($1, $2::jsonb) RETURNING id', values: [kind, JSON.stringify(report)] },
      `storing a ${kind} bench report`,
    );
    return { id: Number(result.rows[0]!.id) };
  }

  /** The newest reports of `kind`, newest first. */
  async latest(kind: string, limit = 10): Promise<BenchReport[]> {
    checkKind(kind);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new InvalidArgumentError(`limit must be an integer from 1 to 1000, got ${limit}`);
    const result = await this.database.query<{ id: string; kind: string; report: Record<string, unknown>; created_ms: string }>(
      {
        text: `SELECT id, kind, report, (extract(epoch FROM created) * 1000)::bigint AS created_ms
               FROM bench_reports WHERE kind = $1 ORDER BY id DESC LIMIT $2`,
        values: [kind, limit],
      },
      `reading ${kind} bench reports`,
    );
    return result.rows.map((row) => ({ id: Number(row.id), kind: row.kind, report: row.report, created_ms: Number(row.created_ms) }));
  }
}

function checkKind(kind: unknown): void {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    throw new InvalidArgumentError(`bench report kind must be 1-64 characters of a-z, 0-9, ".", "_", ":", "-", got ${JSON.stringify(kind)}`);
  }
}
