// A prime field in Montgomery form with 20 limbs of 13 bits (R = 2^260),
// instantiated by the shader builder: @FIELD@ becomes the prefix (fq for the
// curve and MSM code when the field option is '13', fq13/fr13 in the
// limb-width kernels) and @FIELD_*@ the constants. The alternative to
// field.wgsl's 16 x 16-bit limbs, with the same function names, so curve.wgsl,
// fq2.wgsl and msm.wgsl build over either (docs/webgpu.md, field option).
//
// Why 13 bits: a limb product is < 2^26, so up to 64 of them add up in a
// u32 with no carry handling. The multiplication below (CIOS) adds a[j]*b[i]
// and m*p[j] into each column without propagating carries, then shifts one
// limb down; each column collects at most 2*19 products plus one carry
// (< 2^31.3 + 2^19 < 2^32). Carries are propagated once, at the end.
// Requires p < 2^254, so a + b < 2^260 and one conditional subtraction reduces.
// Every function returns fully reduced, normalised limbs (< p), so equality
// and zero tests compare limbs and every stored value is canonical.
//
// Boundaries: buffers hold 8 little-endian u32 words per element. Between
// this field's own kernels (buckets, partial sums) the words are the 13-bit
// Montgomery value x*2^260 mod p, repacked (_from_words/_to_words). Host
// buffers (bases, the result) hold the 16-bit field's x*2^256 mod p:
// _from_host_words multiplies by 2^264 mod p (a*2^264/2^260 = a*2^4) and
// _to_host_words by 2^256 mod p (a*2^256/2^260 = a/2^4).

alias Big13 = array<u32, 20>;
const LIMB13_MASK: u32 = 0x1fffu;

const @FIELD@_P = Big13(@FIELD_P@);
const @FIELD@_NINV: u32 = @FIELD_NINV@u; // -p^-1 mod 2^13
const @FIELD@_ONE = Big13(@FIELD_ONE@);         // 2^260 mod p: 1 in Montgomery form
const @FIELD@_FROM_HOST = Big13(@FIELD_FROM_HOST@); // 2^264 mod p
const @FIELD@_TO_HOST = Big13(@FIELD_TO_HOST@);     // 2^256 mod p
const @FIELD@_PM2 = array<u32, 16>(@FIELD_PM2@);  // p - 2 in 16-bit limbs: the inversion exponent

// Unpack a 256-bit value from 8 little-endian u32 words into 13-bit limbs.
fn big13_from_words(w_in: array<u32, 8>) -> Big13 {
  var w = w_in;
  var r: Big13;
  for (var i = 0u; i < 20u; i++) {
    let bit = 13u * i;
    let k = bit >> 5u;
    let off = bit & 31u;
    var v = w[k] >> off;
    if (off > 19u && k < 7u) { v |= w[k + 1u] << (32u - off); }
    r[i] = v & LIMB13_MASK;
  }
  return r;
}

// Pack normalised 13-bit limbs (value < 2^256) into 8 words.
fn big13_to_words(a_in: Big13) -> array<u32, 8> {
  var a = a_in;
  var w: array<u32, 8>;
  for (var i = 0u; i < 20u; i++) {
    let bit = 13u * i;
    let k = bit >> 5u;
    let off = bit & 31u;
    w[k] |= a[i] << off;
    if (off > 19u && k < 7u) { w[k + 1u] |= a[i] >> (32u - off); }
  }
  return w;
}

fn big13_zero() -> Big13 {
  return Big13(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
}

// a >= b for normalised limbs.
fn big13_gte(a_in: Big13, b_in: Big13) -> bool {
  var a = a_in;
  var b = b_in;
  for (var k = 0u; k < @LIMB13_BOUND@; k++) {
    let i = 19u - k;
    if (a[i] != b[i]) { return a[i] > b[i]; }
  }
  return true;
}

// a - b for normalised limbs with a >= b (no borrow out).
fn big13_sub_nb(a_in: Big13, b_in: Big13) -> Big13 {
  var a = a_in;
  var b = b_in;
  var r: Big13;
  var borrow = 0u;
  for (var i = 0u; i < @LIMB13_BOUND@; i++) {
    let d = (a[i] + 0x2000u) - b[i] - borrow;
    r[i] = d & LIMB13_MASK;
    borrow = 1u - (d >> 13u);
  }
  return r;
}

fn @FIELD@_zero() -> Big13 { return big13_zero(); }
fn @FIELD@_one() -> Big13 { return @FIELD@_ONE; }

fn @FIELD@_is_zero(a_in: Big13) -> bool {
  var a = a_in;
  var acc = 0u;
  for (var i = 0u; i < @LIMB13_BOUND@; i++) { acc |= a[i]; }
  return acc == 0u;
}

fn @FIELD@_eq(a_in: Big13, b_in: Big13) -> bool {
  var a = a_in;
  var b = b_in;
  var acc = 0u;
  for (var i = 0u; i < @LIMB13_BOUND@; i++) { acc |= a[i] ^ b[i]; }
  return acc == 0u;
}

fn @FIELD@_add(a_in: Big13, b_in: Big13) -> Big13 {
  var a = a_in;
  var b = b_in;
  var s: Big13;
  var carry = 0u;
  for (var i = 0u; i < @LIMB13_BOUND@; i++) {
    let v = a[i] + b[i] + carry;
    s[i] = v & LIMB13_MASK;
    carry = v >> 13u;
  }
  if (big13_gte(s, @FIELD@_P)) { return big13_sub_nb(s, @FIELD@_P); }
  return s;
}

fn @FIELD@_sub(a: Big13, b: Big13) -> Big13 {
  if (big13_gte(a, b)) { return big13_sub_nb(a, b); }
  // a - b + p = p - (b - a)
  return big13_sub_nb(@FIELD@_P, big13_sub_nb(b, a));
}

fn @FIELD@_neg(a: Big13) -> Big13 {
  if (@FIELD@_is_zero(a)) { return a; }
  return big13_sub_nb(@FIELD@_P, a);
}

fn @FIELD@_double(a: Big13) -> Big13 { return @FIELD@_add(a, a); }

// Montgomery product a*b/2^260 mod p (CIOS, lazy carries, see the top).
// @MUL13_OUTER@ / @MUL13_INNER@: the loop bounds of the mul option ('straight':
// both the codegen's limb bound; 'compact': the outer loop rolled, a run-time
// bound, and the inner one the constant 20u, see codegen.ts).
fn @FIELD@_mul(a_in: Big13, b_in: Big13) -> Big13 {
  var a = a_in;
  var b = b_in;
  var p = @FIELD@_P;
  var t: Big13;
  for (var i = 0u; i < @MUL13_OUTER@; i++) {
    let bi = b[i];
    let t0 = t[0] + a[0] * bi;
    let m = (t0 * @FIELD@_NINV) & LIMB13_MASK;
    let carry = (t0 + m * p[0]) >> 13u;
    for (var j = 1u; j < @MUL13_INNER@; j++) {
      t[j - 1u] = t[j] + a[j] * bi + m * p[j];
    }
    t[19] = 0u;
    t[0] += carry;
  }
  // Propagate the carries: the value is < 2p < 2^255, so nothing leaves limb 19.
  var r: Big13;
  var c = 0u;
  for (var j = 0u; j < @LIMB13_BOUND@; j++) {
    let v = t[j] + c;
    r[j] = v & LIMB13_MASK;
    c = v >> 13u;
  }
  if (big13_gte(r, p)) { return big13_sub_nb(r, p); }
  return r;
}

// @FIELD@_sqr and @FIELD@_inv: field-inv.wgsl, appended by the shader builder.

// Words of this field's own buffers (same Montgomery form, repacked).
fn @FIELD@_from_words(w: array<u32, 8>) -> Big13 { return big13_from_words(w); }
fn @FIELD@_to_words(a: Big13) -> array<u32, 8> { return big13_to_words(a); }
// Words of host buffers (the 16-bit field's Montgomery form, R = 2^256), converted.
fn @FIELD@_from_host_words(w: array<u32, 8>) -> Big13 { return @FIELD@_mul(big13_from_words(w), @FIELD@_FROM_HOST); }
fn @FIELD@_to_host_words(a: Big13) -> array<u32, 8> { return big13_to_words(@FIELD@_mul(a, @FIELD@_TO_HOST)); }

// Fixed-size word bundles used by the curve and MSM templates, as in field.wgsl.
const @FIELD@_WORDS: u32 = 8u;
fn @FIELD@_from_w16(w_in: array<u32, 16>) -> Big13 {
  var w = w_in;
  var h: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { h[i] = w[i]; }
  return big13_from_words(h);
}
fn @FIELD@_to_w16(a: Big13) -> array<u32, 16> {
  var h = big13_to_words(a);
  var w: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { w[i] = h[i]; }
  return w;
}
fn @FIELD@_from_host_w16(w_in: array<u32, 16>) -> Big13 {
  var w = w_in;
  var h: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { h[i] = w[i]; }
  return @FIELD@_from_host_words(h);
}
fn @FIELD@_to_host_w16(a: Big13) -> array<u32, 16> {
  var h = @FIELD@_to_host_words(a);
  var w: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { w[i] = h[i]; }
  return w;
}
