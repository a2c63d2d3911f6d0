// Fq2 = Fq[u]/(u^2 + 1), elements c0 + c1*u, both Montgomery. Built on the
// fq instance of field.wgsl or field13.wgsl (@FB@: its element type, Big or
// Big13); exposes the same function names as a field so curve.wgsl can be
// instantiated over it.

struct Fq2 { c0: @FB@, c1: @FB@ }

fn fq2_zero() -> Fq2 { return Fq2(fq_zero(), fq_zero()); }
fn fq2_one() -> Fq2 { return Fq2(fq_one(), fq_zero()); }
fn fq2_is_zero(a: Fq2) -> bool { return fq_is_zero(a.c0) && fq_is_zero(a.c1); }
fn fq2_eq(a: Fq2, b: Fq2) -> bool { return fq_eq(a.c0, b.c0) && fq_eq(a.c1, b.c1); }
fn fq2_add(a: Fq2, b: Fq2) -> Fq2 { return Fq2(fq_add(a.c0, b.c0), fq_add(a.c1, b.c1)); }
fn fq2_sub(a: Fq2, b: Fq2) -> Fq2 { return Fq2(fq_sub(a.c0, b.c0), fq_sub(a.c1, b.c1)); }
fn fq2_neg(a: Fq2) -> Fq2 { return Fq2(fq_neg(a.c0), fq_neg(a.c1)); }
fn fq2_double(a: Fq2) -> Fq2 { return fq2_add(a, a); }

// Karatsuba: three base-field products. Where limb loops stay rolled (CPU
// drivers, see bigint.wgsl) the loop bound is limb_bound - 13 (3 at run
// time, unknown to the compiler), so the product code appears once per
// fq2_mul call site (lavapipe compile time); elsewhere it is the constant 3u.
fn fq2_mul(a: Fq2, b: Fq2) -> Fq2 {
  var xs = array<@FB@, 3>(a.c0, a.c1, fq_add(a.c0, a.c1));
  var ys = array<@FB@, 3>(b.c0, b.c1, fq_add(b.c0, b.c1));
  var v: array<@FB@, 3>;
  for (var k = 0u; k < @FQ2_PRODUCTS@; k++) { v[k] = fq_mul(xs[k], ys[k]); }
  return Fq2(fq_sub(v[0], v[1]), fq_sub(fq_sub(v[2], v[0]), v[1]));
}

fn fq2_sqr(a: Fq2) -> Fq2 { return fq2_mul(a, a); }

// 1/(c0 + c1 u) = (c0 - c1 u) / (c0^2 + c1^2); 0 for 0.
fn fq2_inv(a: Fq2) -> Fq2 {
  let t = fq_inv(fq_add(fq_mul(a.c0, a.c0), fq_mul(a.c1, a.c1)));
  return Fq2(fq_mul(a.c0, t), fq_neg(fq_mul(a.c1, t)));
}

const fq2_WORDS: u32 = 16u;
// _host_: host buffers (bases, the result), converted by the fq instance; else device-internal buffers.
fn fq2_from_w16(w_in: array<u32, 16>) -> Fq2 {
  var w = w_in;
  var lo: array<u32, 8>;
  var hi: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { lo[i] = w[i]; hi[i] = w[8u + i]; }
  return Fq2(fq_from_words(lo), fq_from_words(hi));
}
fn fq2_to_w16(a: Fq2) -> array<u32, 16> {
  var lo = fq_to_words(a.c0);
  var hi = fq_to_words(a.c1);
  var w: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { w[i] = lo[i]; w[8u + i] = hi[i]; }
  return w;
}
fn fq2_from_host_w16(w_in: array<u32, 16>) -> Fq2 {
  var w = w_in;
  var lo: array<u32, 8>;
  var hi: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { lo[i] = w[i]; hi[i] = w[8u + i]; }
  return Fq2(fq_from_host_words(lo), fq_from_host_words(hi));
}
fn fq2_to_host_w16(a: Fq2) -> array<u32, 16> {
  var lo = fq_to_host_words(a.c0);
  var hi = fq_to_host_words(a.c1);
  var w: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { w[i] = lo[i]; w[8u + i] = hi[i]; }
  return w;
}
