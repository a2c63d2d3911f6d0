/**
 * `zkp setup --dev <circuit.r1cs> <circuit.zkey> [--vkey vk.json]`: a Groth16
 * proving key from public toxic waste (src/setup/dev-setup.ts), for
 * development and benchmarks. Refused without --dev, so nobody makes one by
 * accident; the INSECURE warning goes to stderr even with --quiet.
 */
import { InvalidArgumentError } from '../errors/index.ts';
import { expectPositionals, parseArgs } from './args.ts';
import type { CliStreams } from './streams.ts';

const SETUP_SPEC = { valued: ['vkey'], booleans: ['dev', 'quiet', 'help'] } as const;

const WARNING = [
  '******************************************************************************',
  'INSECURE DEVELOPMENT KEY: its toxic waste (tau, alpha, beta, gamma, delta) is',
  'public (src/setup/toxic-waste.ts). Anyone can forge proofs that verify against',
  'this key. Use it for development and benchmarks only, never in production.',
  '******************************************************************************',
];

export async function setupCommand(rest: readonly string[], io: CliStreams, help: () => number): Promise<number> {
  const parsed = parseArgs(rest, SETUP_SPEC);
  if (parsed.flags.has('help')) return help();
  if (!parsed.flags.has('dev')) {
    throw new InvalidArgumentError(
      'zkp setup makes only INSECURE development keys (public toxic waste) and needs --dev to say so: ' +
        'zkp setup --dev <circuit.r1cs> <circuit.zkey> [--vkey vk.json]; for a production key run a Powers of Tau ceremony and snarkjs groth16 setup',
    );
  }
  const [r1csPath, zkeyPath] = expectPositionals(parsed, ['<circuit.r1cs>', '<circuit.zkey>'], 'setup --dev') as [string, string];
  const vkeyPath = parsed.values.get('vkey');
  const quiet = parsed.flags.has('quiet');
  const line = (text: string) => {
    if (!quiet) io.stderr.write(`zkp: ${text}\n`);
  };
  for (const warning of WARNING) io.stderr.write(`zkp: ${warning}\n`);

  const { devSetup } = await import('../setup/dev-setup.ts');
  const result = await devSetup({
    r1csPath,
    zkeyPath,
    ...(vkeyPath === undefined ? {} : { vkeyPath }),
    progress: (stage) => line(`setup: ${stage.stage} (${stage.detail}): ${Math.round(stage.duration_ms)} ms`),
  });
  io.stderr.write(
    `zkp: wrote INSECURE development key ${zkeyPath}${vkeyPath === undefined ? '' : ` and ${vkeyPath}`}: ` +
      `${result.nConstraints} constraints, ${result.nVars} wires, ${result.nPublic} public, domain ${result.domainSize}, ` +
      `${(result.duration_ms / 1000).toFixed(1)} s\n`,
  );
  return 0;
}
