/** The service commands' pure parts: durations, progress lines (per change, or one updating line on a TTY). */
import { describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/api/types.ts';
import { formatDuration_ms, parseDuration_ms } from '../../src/cli/duration.ts';
import { JobProgress } from '../../src/cli/progress.ts';

function job(fields: Partial<JobMessage>): JobMessage {
  return {
    id: 'job-7',
    circuit_id: 'c',
    state: 'QUEUED',
    priority: 0,
    deadline_ms: 0,
    idempotency_key: '',
    attempts: 0,
    max_attempts: 3,
    worker_id: '',
    progress: null,
    error_code: '',
    error_message: '',
    proof_json: '',
    public_json: '',
    submitted_ms: 0,
    started_ms: 0,
    finished_ms: 0,
    prove_ms: 0,
    archived: false,
    ...fields,
  };
}

const EVENTS: JobMessage[] = [
  job({}),
  job({ state: 'ASSIGNED', attempts: 1, worker_id: 'w1' }),
  job({ state: 'RUNNING', attempts: 1, worker_id: 'w1', progress: { stage: 'witness', done: 0, total: 1, fraction: 0.05 } }),
  job({ state: 'RUNNING', attempts: 1, worker_id: 'w1', progress: { stage: 'msm', done: 1, total: 4, fraction: 0.4 } }),
  job({ state: 'RUNNING', attempts: 1, worker_id: 'w1', progress: { stage: 'msm', done: 3, total: 4, fraction: 0.8 } }),
  job({ state: 'RUNNING', attempts: 2, worker_id: 'w2', progress: { stage: 'msm', done: 1, total: 4, fraction: 0.4 } }),
  job({ state: 'SUCCEEDED', attempts: 2, worker_id: 'w2' }),
];

describe('progress', () => {
  it('writes a line per change of state, stage, worker or attempt (not per percentage)', () => {
    let text = '';
    const progress = new JobProgress({ write: (chunk: string) => (text += chunk) });
    for (const event of EVENTS) progress.update(event);
    progress.finish();
    expect(text.split('\n').filter((line) => line !== '')).toEqual([
      'zkp: job-7 QUEUED',
      'zkp: job-7 ASSIGNED on w1',
      'zkp: job-7 RUNNING on w1: witness 5%',
      'zkp: job-7 RUNNING on w1: msm 40%',
      'zkp: job-7 RUNNING on w2 (attempt 2): msm 40%',
      'zkp: job-7 SUCCEEDED (attempt 2)',
    ]);
  });

  it('on a terminal, rewrites one line and ends it once', () => {
    let text = '';
    const progress = new JobProgress({ write: (chunk: string) => (text += chunk), isTTY: true });
    for (const event of EVENTS) progress.update(event);
    progress.finish();
    expect(text.split('\r\x1b[2K')).toHaveLength(EVENTS.length + 1);
    expect(text.endsWith('zkp: job-7 SUCCEEDED (attempt 2)\n')).toBe(true);
    expect(text.match(/\n/g)).toHaveLength(1);
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
  ])('%s', (text, ms) => {
    expect(parseDuration_ms(text, '--deadline')).toBe(ms);
  });

  it.each(['30', '', 's', '1d', '-1s', '0s', '1s 2s', '1s2'])('refuses %j', (text) => {
    expect(() => parseDuration_ms(text, '--deadline')).toThrow(/--deadline/);
  });

  it('formats', () => {
    expect(formatDuration_ms(812)).toBe('812 ms');
    expect(formatDuration_ms(1234)).toBe('1.23 s');
    expect(formatDuration_ms(95_000)).toBe('1 min 35 s');
  });
});
