/**
 * The bench circuit (scripts/build-circuits.ts benchCircuitSpec) with an
 * INSECURE development key from src/setup/dev-setup.ts instead of a Powers of
 * Tau: seconds instead of tens of minutes on 2 cores. Timing a prove does not
 * depend on how its key was made (the bases are as random either way), so a
 * benchmark may use it; a production key never comes from here.
 *
 * The build itself is scripts/build-circuits.ts buildCircuit with
 * `{ key: 'dev' }`: cached in circuits/build/dev-key/<name>/, rebuilt when
 * the circuit's sources or circom2's version change.
 */
import { type BuiltCircuit, benchCircuitSpec, buildCircuit } from '../../scripts/build-circuits.ts';

export { ptauIsCached } from '../../scripts/build-circuits.ts';

export function buildDevKeyBenchCircuit(log2n: number, log: (line: string) => void = () => {}): Promise<BuiltCircuit> {
  return buildCircuit(benchCircuitSpec(log2n), log, { key: 'dev' });
}
