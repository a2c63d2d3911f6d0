// NTT and element-wise steps over Fr (Montgomery form), on vectors of
// 2^log2n elements of 8 u32 words. Decimation in time: a bit-reversal copy,
// then the first log2(TILE) radix-2 stages inside one workgroup's memory
// (ntt_tile: one dispatch instead of log2(TILE)), then the remaining stages
// two at a time (ntt_radix4: one dispatch per pair of stages), and, when
// their count is odd, one last radix-2 dispatch (ntt_stage). Twiddles are
// precomputed tables (tw[k] = w^k for k < n/2), built on the device by
// fr_powers.

struct NttParams {
  n: u32,
  log2n: u32,
  half: u32,      // m: butterfly span of this stage (ntt_stage), of the first of the two (ntt_radix4)
  lo_bits: u32,   // fr_powers: index split, out[i] = lo[i & mask] * hi[i >> lo_bits]
}

const WG: u32 = @WORKGROUP_SIZE@u;
const TILE: u32 = 2u * @WORKGROUP_SIZE@u;

@group(0) @binding(0) var<uniform> params: NttParams;
@group(0) @binding(1) var<storage, read_write> data: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> twiddles: array<u32>;
@group(0) @binding(4) var<storage, read> factor: array<u32>;
@group(0) @binding(5) var<storage, read> lo_table: array<u32>;
@group(0) @binding(6) var<storage, read> hi_table: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<u32>;
@group(0) @binding(8) var<storage, read> vec_a: array<u32>;
@group(0) @binding(9) var<storage, read> vec_b: array<u32>;
@group(0) @binding(10) var<storage, read> vec_c: array<u32>;

var<workgroup> tile: array<u32, TILE * 8u>;

fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * (nwg.x * WG) + gid.x;
}

fn ld_data(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = data[i * 8u + k]; }
  return big_from_words(w);
}
fn st_data(i: u32, v: Big) {
  var w = big_to_words(v);
  for (var k = 0u; k < 8u; k++) { data[i * 8u + k] = w[k]; }
}
fn ld_tw(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = twiddles[i * 8u + k]; }
  return big_from_words(w);
}
fn ld_tile(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = tile[i * 8u + k]; }
  return big_from_words(w);
}
fn st_tile(i: u32, v: Big) {
  var w = big_to_words(v);
  for (var k = 0u; k < 8u; k++) { tile[i * 8u + k] = w[k]; }
}
// One loader per binding: a shared loader with a switch would make every
// entry point statically use every binding (and need them all bound).
fn words_to_big(w: array<u32, 8>) -> Big { return big_from_words(w); }
fn ld_a(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = vec_a[i * 8u + k]; }
  return words_to_big(w);
}
fn ld_b(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = vec_b[i * 8u + k]; }
  return words_to_big(w);
}
fn ld_c(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = vec_c[i * 8u + k]; }
  return words_to_big(w);
}
fn ld_lo(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = lo_table[i * 8u + k]; }
  return words_to_big(w);
}
fn ld_hi(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = hi_table[i * 8u + k]; }
  return words_to_big(w);
}
fn ld_factor() -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = factor[k]; }
  return words_to_big(w);
}
fn st_out(i: u32, v: Big) {
  var w = big_to_words(v);
  for (var k = 0u; k < 8u; k++) { out[i * 8u + k] = w[k]; }
}

fn bit_reverse(i: u32, bits: u32) -> u32 {
  if (bits == 0u) { return 0u; }
  return reverseBits(i) >> (32u - bits);
}

@compute @workgroup_size(@WORKGROUP_SIZE@)
fn ntt_bitrev(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  let j = bit_reverse(i, params.log2n);
  for (var k = 0u; k < 8u; k++) { data[j * 8u + k] = src[i * 8u + k]; }
}

// Stages with span 1 .. min(n, TILE)/2 on a TILE-element block in
// workgroup memory. Launched with n / min(n, TILE) workgroups.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn ntt_tile(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let size = min(params.n, TILE);
  let block = wid.y * nwg.x + wid.x;
  let base = block * size;
  for (var i = lid.x; i < size; i += WG) { st_tile(i, ld_data(base + i)); }
  workgroupBarrier();
  for (var m = 1u; m < size; m *= 2u) {
    let k = lid.x;
    if (k < size / 2u) {
      let j = k % m;
      let i0 = (k / m) * 2u * m + j;
      let i1 = i0 + m;
      let w = ld_tw(j * (params.n / (2u * m)));
      let u = ld_tile(i0);
      let v = fr_mul(ld_tile(i1), w);
      st_tile(i0, fr_add(u, v));
      st_tile(i1, fr_sub(u, v));
    }
    workgroupBarrier();
  }
  for (var i = lid.x; i < size; i += WG) { st_data(base + i, ld_tile(i)); }
}

@compute @workgroup_size(@WORKGROUP_SIZE@)
fn ntt_stage(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let k = linear_id(gid, nwg);
  if (k >= params.n / 2u) { return; }
  let m = params.half;
  let j = k % m;
  let i0 = (k / m) * 2u * m + j;
  let i1 = i0 + m;
  let w = ld_tw(j * (params.n / (2u * m)));
  let u = ld_data(i0);
  let v = fr_mul(ld_data(i1), w);
  st_data(i0, fr_add(u, v));
  st_data(i1, fr_sub(u, v));
}

// The stages of span m and 2m in one pass: each thread does the 4-point
// butterfly of the elements i, i+m, i+2m, i+3m (i = (k / m) * 4m + j,
// j = k % m). Span m pairs (i, i+m) and (i+2m, i+3m) with w^(j n/2m); span
// 2m pairs (i, i+2m) with w^(j n/4m) and (i+m, i+3m) with w^((j+m) n/4m).
// Three twiddles and four products, as the two radix-2 stages would do, but
// one read and one write of each element instead of two. (The textbook
// radix-4 form has three twiddle products plus one by the fourth root of
// unity, which in Fr is a full product too; this form needs no twiddle past
// n/2.) Launched with n/4 threads; the results equal the two stages'.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn ntt_radix4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let k = linear_id(gid, nwg);
  if (k >= params.n / 4u) { return; }
  let m = params.half;
  let j = k % m;
  let i0 = (k / m) * 4u * m + j;
  let step = params.n / (4u * m);
  let w1 = ld_tw(2u * j * step);
  let x0 = ld_data(i0);
  let p1 = fr_mul(ld_data(i0 + m), w1);
  let x2 = ld_data(i0 + 2u * m);
  let p3 = fr_mul(ld_data(i0 + 3u * m), w1);
  let y0 = fr_add(x0, p1);
  let y1 = fr_sub(x0, p1);
  let q2 = fr_mul(fr_add(x2, p3), ld_tw(j * step));
  let q3 = fr_mul(fr_sub(x2, p3), ld_tw((j + m) * step));
  st_data(i0, fr_add(y0, q2));
  st_data(i0 + 2u * m, fr_sub(y0, q2));
  st_data(i0 + m, fr_add(y1, q3));
  st_data(i0 + 3u * m, fr_sub(y1, q3));
}

// data[i] *= factor[0] (the 1/n of the inverse transform).
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn fr_scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  st_data(i, fr_mul(ld_data(i), ld_factor()));
}

// data[i] *= twiddles[i]: the coset shift with a table of g^i.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn fr_coset(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  st_data(i, fr_mul(ld_data(i), ld_tw(i)));
}

// out[i] = lo[i & mask] * hi[i >> lo_bits] = x^i, from two sqrt(n) tables
// the host computes (x^j and x^(j * 2^lo_bits)).
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn fr_powers(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  let mask = (1u << params.lo_bits) - 1u;
  st_out(i, fr_mul(ld_lo(i & mask), ld_hi(i >> params.lo_bits)));
}

// out[i] = a[i]*b[i] - c[i], converted out of Montgomery form.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn fr_join(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  let ab = fr_mul(ld_a(i), ld_b(i));
  st_out(i, fr_from_mont(fr_sub(ab, ld_c(i))));
}
