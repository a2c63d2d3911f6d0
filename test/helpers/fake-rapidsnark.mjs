#!/usr/bin/env node
// A stand-in for rapidsnark's `prover`, for tests of bench:prover's --peer
// plumbing where rapidsnark is not built: same argument order
// (<circuit.zkey> <witness.wtns> <proof.json> <public.json>), proves with the
// snarkjs CLI (an independent prover) and passes on its exit status.
// FAKE_PEER_FAIL=1 makes it fail the way a broken peer does: a message on
// stderr and exit status 3.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.length !== 4) {
  process.stderr.write('usage: fake-rapidsnark <circuit.zkey> <witness.wtns> <proof.json> <public.json>\n');
  process.exit(2);
}
if (process.env.FAKE_PEER_FAIL === '1') {
  process.stderr.write('fake-rapidsnark: failing on purpose (FAKE_PEER_FAIL=1)\n');
  process.exit(3);
}
const snarkjsCli = fileURLToPath(new URL('../../node_modules/snarkjs/build/cli.cjs', import.meta.url));
const result = spawnSync(process.execPath, [snarkjsCli, 'groth16', 'prove', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
process.exit(result.status ?? 1);
