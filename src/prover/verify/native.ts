/**
 * Groth16 verification (BN254) by the native addon (native/verify.cc), on
 * snarkjs's JSON. A service verifying many proofs against one key prepares
 * the key once:
 *
 *   const key = prepareVerifyingKey(vkey);   // parsed, checked, pairing work cached
 *   key.verify(publicSignals, proof);        // boolean
 *   key.check(publicSignals, proof);         // { valid } or { valid: false, reason }
 *
 * Refused (false), as snarkjs refuses: a proof point off its curve, pi_b
 * outside the order-r subgroup G2, a coordinate >= p, a projective z other
 * than 1 (0 is the point at infinity), a public signal >= r, and a failed
 * pairing check. Thrown (InvalidArgumentError, naming the field): malformed
 * JSON shapes, a count of public signals other than the key's nPublic, and
 * any problem in the key itself (off-curve or non-subgroup points, alpha,
 * beta, gamma or delta at infinity). BackendUnavailableError when the addon
 * is not built.
 *
 * Calls run on the calling thread (about 2 to 4 ms each here): there is no
 * await.
 */
import { BackendUnavailableError, InvalidArgumentError } from '../../errors/index.ts';
import { loadNativeAddon, type NativeAddon, type NativePreparedKey } from '../backends/native/addon.ts';
import { encodeProof, encodePublicSignals, encodeVerificationKey } from './snarkjs-json.ts';

export type VerificationResult = { readonly valid: true } | { readonly valid: false; readonly reason: string };

export interface PreparedVerifyingKey {
  readonly nPublic: number;
  /** True when the proof verifies against this key and the public signals. */
  verify(publicSignals: unknown, proof: unknown): boolean;
  /** As verify, with the reason for a refusal. */
  check(publicSignals: unknown, proof: unknown): VerificationResult;
}

/** The addon when it is built with the verifier, else null (callers fall back to snarkjs). */
export function nativeVerifierAddon(): NativeAddon | null {
  try {
    const addon = loadNativeAddon();
    return typeof addon.groth16Verify === 'function' && typeof addon.groth16PrepareKey === 'function' ? addon : null;
  } catch (error) {
    if (error instanceof BackendUnavailableError) return null;
    throw error;
  }
}

function requireAddon(): NativeAddon {
  const addon = nativeVerifierAddon();
  if (addon === null) {
    throw new BackendUnavailableError('the native Groth16 verifier is not built; run `npx node-gyp rebuild` (or verify with snarkjs)');
  }
  return addon;
}

/** Addon errors are prefixed "zkp_native: <function>: "; keep the part that names the problem. */
function addonMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^zkp_native: \w+: /, '');
}

class NativePreparedVerifyingKey implements PreparedVerifyingKey {
  readonly nPublic: number;
  private readonly addon: NativeAddon;
  private readonly handle: NativePreparedKey;

  constructor(addon: NativeAddon, vkey: unknown) {
    const encoded = encodeVerificationKey(vkey);
    this.addon = addon;
    this.nPublic = encoded.nPublic;
    try {
      this.handle = addon.groth16PrepareKey(encoded.bytes);
    } catch (error) {
      throw new InvalidArgumentError(`verification key: ${addonMessage(error)}`, { cause: error });
    }
  }

  verify(publicSignals: unknown, proof: unknown): boolean {
    return this.check(publicSignals, proof).valid;
  }

  check(publicSignals: unknown, proof: unknown): VerificationResult {
    // Shapes first (they throw), then the refusals found while encoding.
    const publics = encodePublicSignals(publicSignals, this.nPublic);
    const proofBytes = encodeProof(proof);
    const refused = publics.refused ?? proofBytes.refused;
    if (refused !== undefined) return { valid: false, reason: refused };
    const reason = this.addon.groth16Verify(this.handle, proofBytes.bytes!, publics.bytes!);
    return reason === '' ? { valid: true } : { valid: false, reason };
  }
}

/** Parses and checks a snarkjs verification key once, for many verifications. */
export function prepareVerifyingKey(vkey: unknown): PreparedVerifyingKey {
  return new NativePreparedVerifyingKey(requireAddon(), vkey);
}

/** One verification; prepare the key (prepareVerifyingKey) when it verifies many proofs. */
export function verifyGroth16Native(vkey: unknown, publicSignals: unknown, proof: unknown): boolean {
  return prepareVerifyingKey(vkey).verify(publicSignals, proof);
}

const CACHE_LIMIT = 16;
const preparedByContent = new Map<string, PreparedVerifyingKey>();

/**
 * prepareVerifyingKey with a small cache keyed by the key's JSON text (not
 * by object identity, so a key object changed in place is prepared again):
 * for callers handed the same key many times, like verifyProof.
 */
export function preparedVerifyingKeyFor(vkey: unknown): PreparedVerifyingKey {
  const text = JSON.stringify(vkey) ?? String(vkey);
  const cached = preparedByContent.get(text);
  if (cached) {
    preparedByContent.delete(text);
    preparedByContent.set(text, cached);
    return cached;
  }
  const prepared = prepareVerifyingKey(vkey);
  preparedByContent.set(text, prepared);
  if (preparedByContent.size > CACHE_LIMIT) preparedByContent.delete(preparedByContent.keys().next().value!);
  return prepared;
}
