// A prime field in Montgomery form (R = 2^256), instantiated by the shader
// builder once per field: @FIELD@ becomes the prefix (fq, fr) and the
// @FIELD_*@ constants the modulus, -p^-1 mod 2^16 and R mod p.
// Requires p < 2^254 (true for both BN254 fields), so a + b never carries
// out of 256 bits and one conditional subtraction reduces every result.

const @FIELD@_P = Big(@FIELD_P@);
const @FIELD@_ONE = Big(@FIELD_ONE@); // R mod p: 1 in Montgomery form
const @FIELD@_R2 = Big(@FIELD_R2@);   // R^2 mod p: converts into Montgomery form
const @FIELD@_NINV: u32 = @FIELD_NINV@u; // -p^-1 mod 2^16
const @FIELD@_PM2 = Big(@FIELD_PM2@);  // p - 2: the inversion exponent

fn @FIELD@_zero() -> Big { return big_zero(); }
fn @FIELD@_one() -> Big { return @FIELD@_ONE; }
fn @FIELD@_is_zero(a: Big) -> bool { return big_is_zero(a); }
fn @FIELD@_eq(a: Big, b: Big) -> bool { return big_eq(a, b); }

fn @FIELD@_add(a: Big, b: Big) -> Big {
  var s: Big;
  _ = big_add(a, b, &s);
  if (big_gte(s, @FIELD@_P)) {
    var r: Big;
    _ = big_sub(s, @FIELD@_P, &r);
    return r;
  }
  return s;
}

fn @FIELD@_sub(a: Big, b: Big) -> Big {
  var d: Big;
  let borrow = big_sub(a, b, &d);
  if (borrow != 0u) {
    var r: Big;
    _ = big_add(d, @FIELD@_P, &r);
    return r;
  }
  return d;
}

fn @FIELD@_neg(a: Big) -> Big {
  if (big_is_zero(a)) { return a; }
  var r: Big;
  _ = big_sub(@FIELD@_P, a, &r);
  return r;
}

fn @FIELD@_double(a: Big) -> Big { return @FIELD@_add(a, a); }

// Montgomery product a*b/R mod p, CIOS with 16-bit limbs. Each step's sum
// t[j] + a[j]*b[i] + carry is at most (2^16-1) + (2^16-1)^2 + (2^16-1)
// = 2^32 - 1, so nothing overflows a u32. @MUL_OUTER@ / @MUL_INNER@: the
// loop bounds of the mul option ('straight': both the codegen's limb bound;
// 'compact': the outer loop rolled, a run-time bound, and the inner loops
// the constant 16u, see codegen.ts).
fn @FIELD@_mul(a_in: Big, b_in: Big) -> Big {
  var a = a_in;
  var b = b_in;
  var p = @FIELD@_P;
  var t: array<u32, 18>;
  for (var i = 0u; i < @MUL_OUTER@; i++) {
    var carry = 0u;
    let bi = b[i];
    for (var j = 0u; j < @MUL_INNER@; j++) {
      let s = t[j] + a[j] * bi + carry;
      t[j] = s & 0xffffu;
      carry = s >> 16u;
    }
    let s16 = t[16] + carry;
    t[16] = s16 & 0xffffu;
    t[17] = s16 >> 16u;
    let m = (t[0] * @FIELD@_NINV) & 0xffffu;
    carry = (t[0] + m * p[0]) >> 16u;
    for (var j = 1u; j < @MUL_INNER@; j++) {
      let s = t[j] + m * p[j] + carry;
      t[j - 1u] = s & 0xffffu;
      carry = s >> 16u;
    }
    let s15 = t[16] + carry;
    t[15] = s15 & 0xffffu;
    t[16] = t[17] + (s15 >> 16u);
    t[17] = 0u;
  }
  var r: Big;
  for (var j = 0u; j < @LIMB_BOUND@; j++) { r[j] = t[j]; }
  if (t[16] != 0u || big_gte(r, p)) {
    var q: Big;
    _ = big_sub(r, p, &q);
    return q;
  }
  return r;
}

// @FIELD@_sqr and @FIELD@_inv: field-inv.wgsl, appended by the shader builder.
fn @FIELD@_to_mont(a: Big) -> Big { return @FIELD@_mul(a, @FIELD@_R2); }
fn @FIELD@_from_mont(a: Big) -> Big {
  var one = big_zero();
  one[0] = 1u;
  return @FIELD@_mul(a, one);
}

// Words of buffers: the same Montgomery form (R = 2^256) in device-internal
// and host buffers, so both pairs are the plain repacking. field13.wgsl has
// the same functions, converting at the host boundary.
fn @FIELD@_from_words(w: array<u32, 8>) -> Big { return big_from_words(w); }
fn @FIELD@_to_words(a: Big) -> array<u32, 8> { return big_to_words(a); }
fn @FIELD@_from_host_words(w: array<u32, 8>) -> Big { return big_from_words(w); }
fn @FIELD@_to_host_words(a: Big) -> array<u32, 8> { return big_to_words(a); }

// Fixed-size word bundles used by the curve template: a base-field element
// occupies @FIELD@_WORDS u32 words of a 16-word scratch array (_host_: host
// buffers, see above).
const @FIELD@_WORDS: u32 = 8u;
fn @FIELD@_from_w16(w_in: array<u32, 16>) -> Big {
  var w = w_in;
  var h: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { h[i] = w[i]; }
  return big_from_words(h);
}
fn @FIELD@_to_w16(a: Big) -> array<u32, 16> {
  var h = big_to_words(a);
  var w: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { w[i] = h[i]; }
  return w;
}
fn @FIELD@_from_host_w16(w: array<u32, 16>) -> Big { return @FIELD@_from_w16(w); }
fn @FIELD@_to_host_w16(a: Big) -> array<u32, 16> { return @FIELD@_to_w16(a); }
