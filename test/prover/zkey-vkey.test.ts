/** The verification key read from a zkey equals snarkjs's export of it (less vk_alphabeta_12, which no verifier here reads). */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readZkey } from '../../src/prover/io/zkey.ts';
import { verificationKeyOfZkey } from '../../src/prover/verify/zkey-vkey.ts';
import { testCircuit } from '../helpers/circuits.ts';

describe('verificationKeyOfZkey', () => {
  for (const name of ['mulchain', 'bits', 'manypublic'] as const) {
    it(`matches snarkjs's verification_key.json for ${name}`, async () => {
      const circuit = await testCircuit(name);
      const exported = JSON.parse(await readFile(circuit.vkey, 'utf8')) as Record<string, unknown>;
      const { vk_alphabeta_12: _unused, ...expected } = exported;
      expect(verificationKeyOfZkey(await readZkey(circuit.zkey))).toEqual(expected);
    });
  }
});
