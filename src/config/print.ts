/** `zkp config --print`: every key of a process kind with its environment name, value and source. */
import type { ProcessKind } from './schema.ts';
import type { ConfigEntry, LoadedConfig } from './load.ts';

function sourceText(entry: ConfigEntry): string {
  switch (entry.source) {
    case 'flag':
      return `flag ${entry.origin}`;
    case 'env':
      return `env ${entry.origin}`;
    case 'file':
      return `file ${entry.origin}`;
    case 'default':
      return 'default';
  }
}

function valueText(entry: ConfigEntry, missing: readonly string[]): string {
  if (missing.includes(entry.key)) return '(required; not set)';
  if (entry.value === undefined) return '(unset)';
  if (entry.text === '') return '""';
  return entry.text;
}

/** A table: KEY ENV VALUE SOURCE, one line per key, then the file and what was ignored. */
export function formatConfig(loaded: LoadedConfig<ProcessKind>): string {
  const rows = [
    ['KEY', 'ENV', 'VALUE', 'SOURCE'],
    ...loaded.entries.map((entry) => [entry.key, entry.env, valueText(entry, loaded.missing), sourceText(entry)]),
  ];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column < 3 ? cell.padEnd(widths[column]!) : cell))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift(`# zkp ${loaded.kind}: flags > environment > config file > defaults; config file: ${loaded.configFile ?? 'none'}`);
  if (loaded.ignored.length > 0) lines.push(`# ignored (keys of other process kinds): ${loaded.ignored.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
