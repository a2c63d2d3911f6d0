/**
 * The import graph of the source tree and the rules it must keep: which
 * folders may depend on which, and no cycles. Read with the TypeScript
 * compiler's parser (static imports, `export ... from`, dynamic `import()`),
 * so a string that looks like an import inside a comment does not count.
 *
 *   npx tsx scripts/import-graph.ts          # checks src/, prints every violation, exit 1 if any
 *
 * test/architecture/imports.test.ts runs the same check in `npm test`.
 * To add a rule, add a row to LAYER_RULES (or TEXT_RULES for code that must
 * not even call a clock or a random source).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One import as written in a file. */
export interface ImportRef {
  readonly specifier: string;
  /** `import type` / `export type`: erased at run time (still a dependency for layering). */
  readonly typeOnly: boolean;
  /** `import()` evaluated at run time. */
  readonly dynamic: boolean;
}

/** A file's imports resolved: repository-relative paths for the tree's own files, module names (node:fs, pg, @grpc/grpc-js) for the rest. */
export interface SourceFileInfo {
  readonly file: string;
  readonly text: string;
  readonly imports: readonly (ImportRef & { readonly target: string })[];
}

/**
 * A forbidden dependency: files under one of `from` must not import anything
 * matching `to` (a pattern ending in '/' is a folder or package scope prefix;
 * otherwise an exact path or module name), unless the target matches `except`.
 */
export interface LayerRule {
  readonly name: string;
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly except?: readonly string[];
  readonly why: string;
}

/** Files under `from` must not mention any of `calls` in their code (comments and strings excluded). */
export interface TextRule {
  readonly name: string;
  readonly from: readonly string[];
  readonly calls: readonly string[];
  readonly why: string;
}

const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:net',
  'node:http',
  'node:http2',
  'node:https',
  'node:dgram',
  'node:child_process',
  'node:worker_threads',
  'node:timers',
  'node:timers/promises',
  '@grpc/',
  'pg',
  '@electric-sql/',
];
const CLOCK_AND_RANDOMNESS = ['Date.now', 'Math.random', 'setTimeout', 'setInterval', 'setImmediate', 'performance.now', 'new Date'];
const APPLICATIONS = ['src/raft/kv/', 'src/raft/sessions/', 'src/coordinator/', 'src/worker/', 'src/client/', 'src/store/', 'src/dev/', 'src/cli/'];

export const LAYER_RULES: readonly LayerRule[] = [
  {
    name: 'raft core is pure',
    from: ['src/raft/core/'],
    to: [...IO_MODULES, 'src/raft/driver/', 'src/raft/storage/', 'src/raft/transport/', ...APPLICATIONS],
    why: 'the core takes messages and ticks and returns what to persist, send and apply; its driver does the I/O',
  },
  {
    name: 'the raft driver knows no application',
    from: ['src/raft/driver/', 'src/raft/storage/', 'src/raft/transport/'],
    to: APPLICATIONS,
    why: 'applications (the KV example, the coordinator) compose the driver in their own composition root, never the reverse',
  },
  {
    name: 'applications use the driver through its public API',
    from: ['src/raft/kv/', 'src/coordinator/', 'src/worker/', 'src/client/', 'src/dev/', 'src/cli/'],
    to: ['src/raft/driver/'],
    except: ['src/raft/driver/index.ts'],
    why: "the driver's internals can change without touching its applications",
  },
  {
    name: 'exactly-once sessions need no driver',
    from: ['src/raft/sessions/'],
    to: ['src/raft/driver/', 'src/raft/kv/'],
    why: 'sessions wrap any StateMachine; the composition root hands them to the driver',
  },
  {
    name: 'the prover knows no raft',
    from: ['src/prover/'],
    to: ['src/raft/', 'src/sim/'],
    why: 'the proving engine is used by workers, the CLI and benches without a cluster',
  },
  {
    name: 'the job state machine and scheduler policy are pure',
    from: ['src/coordinator/state/', 'src/coordinator/scheduler/'],
    to: [...IO_MODULES, 'src/raft/driver/', 'src/raft/storage/', 'src/raft/transport/', 'src/store/', 'src/coordinator/service/'],
    why: 'they are applied from committed entries on every replica and run in the deterministic simulator',
  },
  {
    name: 'lower layers know no coordinator',
    from: ['src/store/', 'src/raft/', 'src/prover/'],
    to: ['src/coordinator/'],
    why: 'the coordinator composes them',
  },
];

export const TEXT_RULES: readonly TextRule[] = [
  {
    name: 'no clock or randomness in pure parts',
    from: ['src/raft/core/', 'src/coordinator/state/', 'src/coordinator/scheduler/'],
    calls: CLOCK_AND_RANDOMNESS,
    why: 'time and randomness come from the driver, so the simulator can replay a run from its seed',
  },
];

export function matches(target: string, pattern: string): boolean {
  return pattern.endsWith('/') ? target.startsWith(pattern) : target === pattern;
}

/** The imports written in one TypeScript file. */
export function parseImports(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const allNamedTypeOnly =
        clause !== undefined &&
        clause.name === undefined &&
        clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((element) => element.isTypeOnly);
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly: clause?.isTypeOnly === true || allNamedTypeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const argument = node.arguments[0];
      // A computed specifier cannot be followed; the project writes dynamic imports with literals.
      if (argument !== undefined && ts.isStringLiteralLike(argument)) refs.push({ specifier: argument.text, typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      refs.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

const BUILTINS = new Set(builtinModules);

/** Where an import points: a repository-relative path for a relative specifier, else the module name (builtins as node:x). */
export function resolveTarget(fromFile: string, specifier: string, exists: (file: string) => boolean): string {
  if (specifier.startsWith('.')) {
    const joined = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), specifier));
    for (const candidate of [joined, `${joined}.ts`, `${joined}/index.ts`, joined.replace(/\.js$/, '.ts')]) if (exists(candidate)) return candidate;
    return joined;
  }
  if (!specifier.startsWith('node:') && BUILTINS.has(specifier)) return `node:${specifier}`;
  return specifier;
}

/** Code with comments and string contents blanked, so a rule on calls sees only code. */
export function codeOnly(text: string): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  let out = '';
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    const token = scanner.getTokenText();
    if (kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia) out += ' ';
    else if (kind === ts.SyntaxKind.StringLiteral || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) out += '""';
    else out += token;
  }
  return out;
}

export interface Violation {
  readonly rule: string;
  readonly file: string;
  readonly detail: string;
}

export function checkLayers(files: readonly SourceFileInfo[], rules: readonly LayerRule[] = LAYER_RULES): Violation[] {
  const violations: Violation[] = [];
  for (const info of files)
    for (const rule of rules) {
      if (!rule.from.some((prefix) => info.file.startsWith(prefix))) continue;
      for (const ref of info.imports) {
        if (!rule.to.some((pattern) => matches(ref.target, pattern))) continue;
        if (rule.except?.some((pattern) => matches(ref.target, pattern)) === true) continue;
        violations.push({ rule: rule.name, file: info.file, detail: `imports ${ref.target} (${rule.why})` });
      }
    }
  return violations;
}

export function checkText(files: readonly SourceFileInfo[], rules: readonly TextRule[] = TEXT_RULES): Violation[] {
  const violations: Violation[] = [];
  for (const info of files)
    for (const rule of rules) {
      if (!rule.from.some((prefix) => info.file.startsWith(prefix))) continue;
      const code = codeOnly(info.text);
      for (const call of rule.calls) {
        const pattern = new RegExp(`(^|[^\\w.$])${call.replace('.', '\\s*\\.\\s*').replace(' ', '\\s+')}\\b`);
        if (pattern.test(code)) violations.push({ rule: rule.name, file: info.file, detail: `uses ${call} (${rule.why})` });
      }
    }
  return violations;
}

/** Cycles among the tree's own files (Tarjan's strongly connected components; each reported once, as a path). */
export function findCycles(files: readonly SourceFileInfo[], options: { includeTypeOnly?: boolean } = {}): string[][] {
  const known = new Set(files.map((f) => f.file));
  const edges = new Map<string, string[]>();
  for (const info of files)
    edges.set(
      info.file,
      [...new Set(info.imports.filter((r) => known.has(r.target) && (options.includeTypeOnly === true || !r.typeOnly)).map((r) => r.target))].sort(),
    );
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const strongConnect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    for (;;) {
      const w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || (edges.get(v) ?? []).includes(v)) cycles.push(component.sort());
  };
  for (const file of [...known].sort()) if (!index.has(file)) strongConnect(file);
  return cycles;
}

function listTypeScript(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir)).sort()) {
    const rel = path.posix.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...listTypeScript(root, rel));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Reads every .ts file under `dirs` (repository-relative) and resolves its imports. */
export function readTree(root: string, dirs: readonly string[] = ['src']): SourceFileInfo[] {
  const files = dirs.flatMap((dir) => listTypeScript(root, dir));
  const present = new Set(files);
  const exists = (file: string): boolean => present.has(file);
  return files.map((file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    const imports = parseImports(file, text).map((ref) => ({ ...ref, target: resolveTarget(file, ref.specifier, exists) }));
    return { file, text, imports };
  });
}

/** Every rule and cycle violation of the tree under `root`. */
export function checkTree(root: string, dirs: readonly string[] = ['src']): Violation[] {
  const files = readTree(root, dirs);
  const cycles = findCycles(files).map((cycle) => ({ rule: 'no import cycles', file: cycle[0]!, detail: `cycle through ${cycle.join(' -> ')}` }));
  return [...checkLayers(files), ...checkText(files), ...cycles];
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const violations = checkTree(root);
  for (const v of violations) console.log(`${v.rule}: ${v.file} ${v.detail}`);
  console.log(violations.length === 0 ? 'import graph: ok' : `import graph: ${violations.length} violation(s)`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}
