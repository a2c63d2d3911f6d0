/**
 * Peers of bench:prover: other Groth16 provers run side by side with ours,
 * given as `--peer name=path`. A peer is any executable called with
 * rapidsnark's argument order, `<path> <circuit.zkey> <witness.wtns>
 * <proof.json> <public.json>`, which writes snarkjs-format JSON and exits 0.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ProverPeer {
  readonly name: string;
  /** Absolute path of the executable. */
  readonly path: string;
}

/**
 * Parses and checks each `name=path`; returns the peers, or throws an Error
 * whose message is one line naming the problem (missing '=', a name used
 * twice, a path that is missing, not a file, or not executable).
 */
export function parsePeers(specs: readonly string[]): ProverPeer[] {
  const peers: ProverPeer[] = [];
  for (const spec of specs) {
    const equals = spec.indexOf('=');
    const name = equals > 0 ? spec.slice(0, equals).trim() : '';
    const given = equals > 0 ? spec.slice(equals + 1).trim() : '';
    if (name === '' || given === '') throw new Error(`--peer needs name=path (e.g. rapidsnark=/opt/rapidsnark/prover), got ${JSON.stringify(spec)}`);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`--peer ${JSON.stringify(name)}: a name may hold only letters, digits, '.', '_' and '-'`);
    if (peers.some((peer) => peer.name === name)) throw new Error(`--peer ${name} is given twice`);
    const path = resolve(given);
    let isFile: boolean;
    try {
      isFile = statSync(path).isFile();
    } catch {
      throw new Error(`--peer ${name}: ${path} does not exist`);
    }
    if (!isFile) throw new Error(`--peer ${name}: ${path} is not a file`);
    try {
      accessSync(path, constants.X_OK);
    } catch {
      throw new Error(`--peer ${name}: ${path} is not executable (chmod +x it)`);
    }
    peers.push({ name, path });
  }
  return peers;
}

/** One line for a peer that failed: its exit status or signal and the tail of its stderr. */
export function peerFailure(name: string, exitCode: number | null, signal: string | null, stderrTail: string): string {
  const how = signal !== null ? `was killed by ${signal}` : `exited with status ${exitCode}`;
  const tail = stderrTail.trim().split('\n').slice(-3).join(' | ').slice(-400);
  return `peer ${name} ${how}${tail === '' ? ' (no stderr)' : `: ${tail}`}`;
}
