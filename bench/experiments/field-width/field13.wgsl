// A prime field in Montgomery form with 20 limbs of 13 bits (R = 2^260),
// instantiated by the shader builder: @FIELD@ becomes the prefix (fq13, fr13)
// and @FIELD_*@ the modulus and -p^-1 mod 2^13. The alternative to field.wgsl's
// 16 x 16-bit limbs, measured by `npm run bench:webgpu -- --field-bench`.
//
// Why 13 bits: a limb product is < 2^26, so up to 64 of them add up in a
// u32 with no carry handling. The multiplication below (CIOS) adds a[j]*b[i]
// and m*p[j] into each column without propagating carries, then shifts one
// limb down; each column collects at most 2*19 products plus one carry
// (< 2^31.3 + 2^19 < 2^32). Carries are propagated once, at the end.
// Requires p < 2^254, so a + b < 2^260 and one conditional subtraction reduces.

alias Big13 = array<u32, 20>;
const LIMB13_MASK: u32 = 0x1fffu;

const @FIELD@_P = Big13(@FIELD_P@);
const @FIELD@_NINV: u32 = @FIELD_NINV@u; // -p^-1 mod 2^13

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

// Montgomery product a*b/2^260 mod p (CIOS, lazy carries, see the top).
fn @FIELD@_mul(a_in: Big13, b_in: Big13) -> Big13 {
  var a = a_in;
  var b = b_in;
  var p = @FIELD@_P;
  var t: Big13;
  for (var i = 0u; i < @LIMB13_BOUND@; i++) {
    let bi = b[i];
    let t0 = t[0] + a[0] * bi;
    let m = (t0 * @FIELD@_NINV) & LIMB13_MASK;
    let carry = (t0 + m * p[0]) >> 13u;
    for (var j = 1u; j < @LIMB13_BOUND@; j++) {
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
