import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario, ScenarioError } from './scenario-runner.ts';

const dir = join(import.meta.dirname, 'scenarios');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('data-driven scenarios (test/raft-core/scenarios/*.txt)', () => {
  it('has scenarios to run', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });
  for (const file of files) {
    it(file, () => {
      runScenario(readFileSync(join(dir, file), 'utf8'), file);
    });
  }
  it('the runner reports a failed expectation with file and line', () => {
    expect(() => runScenario('nodes 1 2 3\nelect 1\nexpect leader 2\n', 'inline.txt')).toThrow(ScenarioError);
    expect(() => runScenario('nodes 1 2 3\nelect 1\nexpect leader 2\n', 'inline.txt')).toThrow(/inline.txt:3/);
  });
});
