import type { Entry } from '../types.ts';

/** Bytes an entry counts for against maxSizePerMsg: its payload plus a fixed header (index, term, type). */
export const ENTRY_HEADER_BYTES = 24;

export function entrySize_bytes(entry: Entry): number {
  return entry.data.length + ENTRY_HEADER_BYTES;
}

/** The longest prefix of `entries` within `maxBytes`, but always at least one entry (progress beats the bound). */
export function limitSize(entries: Entry[], maxBytes: number | undefined): Entry[] {
  if (maxBytes === undefined || entries.length === 0) return entries;
  let total_bytes = entrySize_bytes(entries[0]!);
  let count = 1;
  while (count < entries.length) {
    total_bytes += entrySize_bytes(entries[count]!);
    if (total_bytes > maxBytes) break;
    count++;
  }
  return entries.slice(0, count);
}
