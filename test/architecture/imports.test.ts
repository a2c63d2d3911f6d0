/**
 * Dependencies point one way (scripts/import-graph.ts holds the rules): the
 * tree keeps every rule and has no import cycle, and the checker itself
 * reports a forbidden edge, a clock in a pure part and a cycle on synthetic
 * files, so a rule that silently stopped matching would fail here.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  checkLayers,
  checkText,
  checkTree,
  codeOnly,
  findCycles,
  LAYER_RULES,
  parseImports,
  resolveTarget,
  type SourceFileInfo,
} from '../../scripts/import-graph.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Synthetic files: path -> source text; imports resolved as the checker does for the real tree. */
function tree(sources: Record<string, string>): SourceFileInfo[] {
  const exists = (file: string): boolean => file in sources;
  return Object.entries(sources).map(([file, text]) => ({
    file,
    text,
    imports: parseImports(file, text).map((ref) => ({ ...ref, target: resolveTarget(file, ref.specifier, exists) })),
  }));
}

describe('the import graph of src/', () => {
  it('keeps every dependency rule and has no import cycle', () => {
    const violations = checkTree(ROOT).map((v) => `${v.rule}: ${v.file} ${v.detail}`);
    expect(violations).toEqual([]);
  });
});

describe('the import-graph checker', () => {
  it('reads static, type-only, re-exported and dynamic imports, but not text in comments', () => {
    const refs = parseImports(
      'src/x.ts',
      [
        "import { a } from './a.ts';",
        "import type { B } from './b.ts';",
        "import { type C } from './c.ts';",
        "export { d } from './d.ts';",
        "// import { e } from './e.ts';",
        "const f = await import('./f.ts');",
        "import fs from 'fs';",
      ].join('\n'),
    );
    expect(refs).toEqual([
      { specifier: './a.ts', typeOnly: false, dynamic: false },
      { specifier: './b.ts', typeOnly: true, dynamic: false },
      { specifier: './c.ts', typeOnly: true, dynamic: false },
      { specifier: './d.ts', typeOnly: false, dynamic: false },
      { specifier: './f.ts', typeOnly: false, dynamic: true },
      { specifier: 'fs', typeOnly: false, dynamic: false },
    ]);
    expect(resolveTarget('src/raft/core/x.ts', 'fs', () => false)).toBe('node:fs');
    expect(resolveTarget('src/raft/core/x.ts', '../driver/index.ts', () => true)).toBe('src/raft/driver/index.ts');
  });

  it('reports each forbidden edge of the rule table', () => {
    const files = tree({
      'src/raft/core/raft.ts': "import { readFileSync } from 'node:fs';\nimport type { X } from '../transport/index.ts';",
      'src/raft/transport/index.ts': 'export type X = number;',
      'src/raft/driver/raft-node.ts': "import { KvService } from '../kv/kv-service.ts';",
      'src/raft/kv/kv-service.ts': "import { AddressBook } from '../driver/address-book.ts';\nimport type { RaftNode } from '../driver/index.ts';",
      'src/raft/driver/address-book.ts': 'export class AddressBook {}',
      'src/raft/driver/index.ts': 'export class RaftNode {}',
      'src/raft/sessions/exactly-once.ts': "import type { RaftNode } from '../driver/index.ts';",
      'src/prover/groth16.ts': "import { Prng } from '../raft/codec.ts';",
      'src/raft/codec.ts': "import { jobs } from '../coordinator/state/jobs.ts';",
      'src/coordinator/state/jobs.ts': "import * as grpc from '@grpc/grpc-js';\nimport pg from 'pg';\nexport const jobs = 1;",
      'src/coordinator/scheduler/policy.ts': "import { setTimeout } from 'node:timers/promises';",
    });
    const found = checkLayers(files).map((v) => `${v.file} -> ${v.detail.split(' (')[0]!.replace('imports ', '')}`);
    expect(found.sort()).toEqual(
      [
        'src/raft/core/raft.ts -> node:fs',
        'src/raft/core/raft.ts -> src/raft/transport/index.ts',
        'src/raft/driver/raft-node.ts -> src/raft/kv/kv-service.ts',
        'src/raft/kv/kv-service.ts -> src/raft/driver/address-book.ts',
        'src/raft/sessions/exactly-once.ts -> src/raft/driver/index.ts',
        'src/prover/groth16.ts -> src/raft/codec.ts',
        'src/raft/codec.ts -> src/coordinator/state/jobs.ts',
        'src/coordinator/state/jobs.ts -> @grpc/grpc-js',
        'src/coordinator/state/jobs.ts -> pg',
        'src/coordinator/scheduler/policy.ts -> node:timers/promises',
      ].sort(),
    );
  });

  it('allows the edges the rules allow', () => {
    const files = tree({
      'src/raft/kv/kv-node-main.ts': "import { RaftNode } from '../driver/index.ts';\nimport { ExactlyOnce } from '../sessions/exactly-once.ts';",
      'src/raft/driver/index.ts': "import { RaftCore } from '../core/raft.ts';\nimport type { StateMachine } from '../state-machine.ts';",
      'src/raft/core/raft.ts': "import type { Entry } from '../types.ts';\nimport { assert } from '../../errors/index.ts';",
      'src/coordinator/service/jobs.ts': "import * as grpc from '@grpc/grpc-js';\nimport { apply } from '../state/jobs.ts';",
      'src/coordinator/state/jobs.ts': 'export function apply(now_ms: number): number { return now_ms; }',
    });
    expect(checkLayers(files)).toEqual([]);
    expect(checkText(files)).toEqual([]);
  });

  it('reports a clock or random source in a pure part, in code but not in comments or strings', () => {
    const files = tree({
      'src/coordinator/state/a.ts': 'export const t = Date.now();',
      'src/coordinator/scheduler/b.ts': 'export const r = Math.random();\nsetTimeout(() => {}, 1);',
      'src/raft/core/c.ts': "// Date.now() is the driver's business\nexport const s = 'setInterval';",
      'src/raft/driver/d.ts': 'export const t = Date.now();',
    });
    expect(checkText(files).map((v) => `${v.file} ${v.detail.split(' (')[0]}`)).toEqual([
      'src/coordinator/state/a.ts uses Date.now',
      'src/coordinator/scheduler/b.ts uses Math.random',
      'src/coordinator/scheduler/b.ts uses setTimeout',
    ]);
    expect(codeOnly("a /* Date.now */ + 'x'")).not.toContain('Date');
  });

  it('finds cycles, dynamic imports included, type-only ones only on request', () => {
    const files = tree({
      'src/prover/backends/index.ts': "const w = () => import('./webgpu/index.ts');",
      'src/prover/backends/webgpu/index.ts': "import { f } from './fallback.ts';",
      'src/prover/backends/webgpu/fallback.ts': "const r = () => import('../index.ts');",
      'src/a.ts': "import type { B } from './b.ts';",
      'src/b.ts': "import type { A } from './a.ts';",
      'src/self.ts': "import './self.ts';",
    });
    expect(findCycles(files)).toEqual([
      ['src/prover/backends/index.ts', 'src/prover/backends/webgpu/fallback.ts', 'src/prover/backends/webgpu/index.ts'],
      ['src/self.ts'],
    ]);
    expect(findCycles(files, { includeTypeOnly: true })).toContainEqual(['src/a.ts', 'src/b.ts']);
  });

  it('has a reason for every rule', () => {
    for (const rule of LAYER_RULES) expect(rule.why.length, rule.name).toBeGreaterThan(10);
  });
});
