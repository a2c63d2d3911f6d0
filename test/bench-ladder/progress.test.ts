/**
 * bench/lib/ladder-progress.ts: plain lines, one per step, when stderr is not
 * a terminal; a bar redrawn in place (carriage return, erase line) under the
 * log lines on a terminal, cut to the terminal's width.
 */
import { describe, expect, it } from 'vitest';
import { LadderProgress } from '../../bench/lib/ladder-progress.ts';

function sink(isTTY: boolean, columns = 120) {
  const chunks: string[] = [];
  return { chunks, sink: { isTTY, columns, write: (text: string) => void chunks.push(text) } };
}

describe('LadderProgress', () => {
  it('writes plain lines when not on a terminal', () => {
    const { chunks, sink: out } = sink(false);
    const progress = new LadderProgress(2, out);
    progress.begin('synthetic-10 native warm 1/1');
    progress.step();
    progress.say('  native: cold median 600 ms');
    progress.begin('synthetic-10 native cold 1/1');
    progress.step();
    progress.finish();
    expect(chunks.join('')).toBe('[1/2] synthetic-10 native warm 1/1\n  native: cold median 600 ms\n[2/2] synthetic-10 native cold 1/1\n');
  });

  it('redraws one bar in place on a terminal, log lines above it', () => {
    const { chunks, sink: out } = sink(true, 60);
    const progress = new LadderProgress(4, out);
    progress.begin('synthetic-10 native warm 1/2');
    progress.step();
    expect(chunks.at(-1)?.startsWith(`\r\x1b[2K[${'#'.repeat(7)}${'-'.repeat(21)}]  25% 1/4 0m00s synthetic-10`)).toBe(true);
    expect(chunks.at(-1)?.length).toBeLessThanOrEqual('\r\x1b[2K'.length + 59);
    progress.say('a log line');
    expect(chunks.at(-2)).toBe('\r\x1b[2Ka log line\n');
    progress.setTotal(2);
    expect(progress.bar()).toContain(' 50% 1/2 ');
    progress.finish();
    expect(chunks.at(-1)).toBe('\r\x1b[2K');
    expect(chunks.join('')).not.toContain('[1/4]');
  });
});
