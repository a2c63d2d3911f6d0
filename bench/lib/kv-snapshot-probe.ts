/**
 * How long a snapshot of the KV example's state takes, and how long it holds
 * the event loop (the Raft node takes it while commits go on):
 *
 *   npx tsx bench/lib/kv-snapshot-probe.ts [--keys 60000] [--value-bytes 64] [--repeats 5]
 *
 * Prints, per repeat: bytes, total ms, the synchronous part (until snapshot()
 * returns its promise) and the longest gap between two turns of the event
 * loop while the slices were being written.
 */
import { parseArgs } from 'node:util';
import { encodePut, KvStateMachine } from '../../src/raft/kv/kv-state-machine.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '60000' },
    'value-bytes': { type: 'string', default: '64' },
    repeats: { type: 'string', default: '5' },
  },
  strict: true,
});
const keys = Number(values.keys);
const value_bytes = Number(values['value-bytes']);
const repeats = Number(values.repeats);
for (const [name, n] of [
  ['--keys', keys],
  ['--value-bytes', value_bytes],
  ['--repeats', repeats],
] as const) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${n}`);
}

async function main(): Promise<void> {
  const sm = new KvStateMachine();
  const value = new Uint8Array(value_bytes).fill(7);
  for (let i = 0; i < keys; i++) sm.apply({ index: i + 1, term: 1, type: 'normal', data: encodePut(`key-${i}`, value) });
  for (let r = 0; r < repeats; r++) {
    let last_ms = performance.now();
    let longestGap_ms = 0;
    let running = true;
    const probe = (): void => {
      const now_ms = performance.now();
      longestGap_ms = Math.max(longestGap_ms, now_ms - last_ms);
      last_ms = now_ms;
      if (running) setImmediate(probe);
    };
    const started_ms = performance.now();
    const taking = sm.snapshot();
    const sync_ms = performance.now() - started_ms;
    last_ms = performance.now();
    setImmediate(probe);
    const bytes = await taking;
    running = false;
    const total_ms = performance.now() - started_ms;
    console.log(
      `${keys} keys, ${bytes.length} bytes: total ${total_ms.toFixed(1)} ms, synchronous ${sync_ms.toFixed(1)} ms, longest event-loop gap ${longestGap_ms.toFixed(1)} ms`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
