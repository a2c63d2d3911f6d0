// Multi-precision unsigned integers for 256-bit values.
// A Big holds 16 limbs of 16 bits, each in its own u32 (least significant
// first). 16-bit limbs let every limb product (< 2^32) and the CIOS sums
// t + a*b + carry fit a u32 exactly, because WGSL has no 64-bit integers
// and no high-half multiply. In storage buffers values are packed two limbs
// per u32 (8 words, little-endian), which is the byte layout of the
// ffjavascript/snarkjs buffers, so bases upload without conversion.

alias Big = array<u32, 16>;

// Trip count of the limb loops. With LIMB_BOUND = 16u the compiler may
// unroll them (fast on GPUs with good compilers); with LIMB_BOUND = limb_bound
// (a private set at run time by big_init) loops stay rolled. Mesa's
// lavapipe inlines every function call, so unrolled 16x16 products at each
// call site make the MSM pipelines take minutes to compile there.
var<private> limb_bound: u32 = 16u;

// Every entry point calls this first with a builtin value that is >= 1 at
// run time but unknown to the compiler, so limb_bound is not a constant.
fn big_init(runtime_one_or_more: u32) {
  limb_bound = 15u + min(runtime_one_or_more, 1u);
}

fn big_zero() -> Big {
  return Big(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
}

fn big_is_zero(a_in: Big) -> bool {
  var a = a_in;
  var acc = 0u;
  for (var i = 0u; i < @LIMB_BOUND@; i++) { acc |= a[i]; }
  return acc == 0u;
}

fn big_eq(a_in: Big, b_in: Big) -> bool {
  var a = a_in;
  var b = b_in;
  var acc = 0u;
  for (var i = 0u; i < @LIMB_BOUND@; i++) { acc |= a[i] ^ b[i]; }
  return acc == 0u;
}

// a >= b
fn big_gte(a_in: Big, b_in: Big) -> bool {
  var a = a_in;
  var b = b_in;
  for (var k = 0u; k < @LIMB_BOUND@; k++) {
    let i = 15u - k;
    if (a[i] != b[i]) { return a[i] > b[i]; }
  }
  return true;
}

// out = a + b; returns the carry out of the top limb.
fn big_add(a_in: Big, b_in: Big, out: ptr<function, Big>) -> u32 {
  var a = a_in;
  var b = b_in;
  var carry = 0u;
  for (var i = 0u; i < @LIMB_BOUND@; i++) {
    let s = a[i] + b[i] + carry;
    (*out)[i] = s & 0xffffu;
    carry = s >> 16u;
  }
  return carry;
}

// out = a - b; returns the borrow out of the top limb.
fn big_sub(a_in: Big, b_in: Big, out: ptr<function, Big>) -> u32 {
  var a = a_in;
  var b = b_in;
  var borrow = 0u;
  for (var i = 0u; i < @LIMB_BOUND@; i++) {
    let d = (a[i] + 0x10000u) - b[i] - borrow;
    (*out)[i] = d & 0xffffu;
    borrow = 1u - (d >> 16u);
  }
  return borrow;
}

// Unpack 8 little-endian u32 words into 16-bit limbs.
fn big_from_words(w_in: array<u32, 8>) -> Big {
  var w = w_in;
  var r: Big;
  for (var i = 0u; i < 8u; i++) {
    r[2u * i] = w[i] & 0xffffu;
    r[2u * i + 1u] = w[i] >> 16u;
  }
  return r;
}

fn big_to_words(a_in: Big) -> array<u32, 8> {
  var a = a_in;
  var w: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) {
    w[i] = a[2u * i] | (a[2u * i + 1u] << 16u);
  }
  return w;
}
