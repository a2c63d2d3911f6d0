// Pippenger MSM stages for one group (@G@), as separate entry points:
//   1. msm_decompose: signed c-bit windows of each scalar, bucket histogram
//   2. scan_local / scan_blocks / scan_finish: exclusive prefix sum of the
//      histogram (counting sort offsets; also a cursor copy for step 3)
//   3. msm_scatter: entries (point index | sign) sorted by key = window*nb + bucket
//   4. msm_accumulate_affine, then msm_accumulate_jac repeatedly: a balanced
//      segmented reduction of the sorted entries (see docs/webgpu.md)
//   5. msm_bucket_reduce: per (window, segment) weighted bucket sums
// The host adds the per-segment results and combines windows (Horner).

struct MsmParams {
  n: u32,             // points (and scalars) in this chunk
  c: u32,             // window width in bits (<= 16)
  nw: u32,            // number of windows
  nb: u32,            // buckets per window = 2^(c-1)
  total_buckets: u32, // nw * nb
  count: u32,         // entries in this accumulation level's input
  last: u32,          // 1 when this accumulation level is a single thread
  segs: u32,          // reduction segments per window
  seg_len: u32,       // buckets per reduction segment
  scalar_offset: u32, // index of this chunk's first scalar in the bound scalar vector
  pad1: u32,
  pad2: u32,
}

const WG: u32 = @WORKGROUP_SIZE@u;
const K: u32 = @ENTRIES_PER_THREAD@u; // entries summed by one accumulation thread
// Injected by the shader builder from the CPU twin (twins/msm.ts), so both sides share one definition.
const SENTINEL: u32 = @SENTINEL_KEY@; // the key of an empty accumulation output (a thread past the last entry); no bucket has it
const NO_DIGIT: u32 = @NO_DIGIT@; // a zero digit: the point adds to no bucket of this window
const SIGN_BIT: u32 = @SIGN_BIT@; // set in a digit code (and a scattered value) when the point is negated

@group(0) @binding(0) var<uniform> params: MsmParams;
@group(0) @binding(1) var<storage, read> scalars: array<u32>;
@group(0) @binding(2) var<storage, read_write> digits: array<u32>;
@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(5) var<storage, read_write> block_sums: array<u32>;
@group(0) @binding(6) var<storage, read_write> cursor: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> keys: array<u32>;
@group(0) @binding(8) var<storage, read_write> vals: array<u32>;
@group(0) @binding(9) var<storage, read> bases: array<u32>;
@group(0) @binding(10) var<storage, read> in_keys: array<u32>;
@group(0) @binding(11) var<storage, read> in_pts: array<u32>;
@group(0) @binding(12) var<storage, read_write> out_keys: array<u32>;
@group(0) @binding(13) var<storage, read_write> out_pts: array<u32>;
@group(0) @binding(14) var<storage, read_write> buckets: array<u32>;
@group(0) @binding(15) var<storage, read_write> reduced: array<u32>;
@group(0) @binding(16) var<storage, read> counts_plain: array<u32>;
// status[0]: 0 when every scalar is < 2^255, else 0xffffffff - (index of the first one that is not).
@group(0) @binding(17) var<storage, read_write> status: array<atomic<u32>>;

var<workgroup> scan_tile: array<u32, @WORKGROUP_SIZE@>;

// Linear thread index over a 1-D or 2-D grid (2-D when a dispatch needs
// more than 65535 workgroups).
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * (nwg.x * WG) + gid.x;
}

fn read_coord(src_base: u32, which: u32) -> @FT@ {
  var w: array<u32, 16>;
  for (var k = 0u; k < @F@_WORDS; k++) { w[k] = bases[src_base + which * @F@_WORDS + k]; }
  return @F@_from_w16(w);
}

fn load_base(index: u32) -> @G@_Aff {
  let base = index * @G@_AFF_WORDS;
  return @G@_Aff(read_coord(base, 0u), read_coord(base, 1u));
}

fn load_in_jac(index: u32) -> @G@_Jac {
  let base = index * @G@_JAC_WORDS;
  var c: array<@FT@, 3>;
  for (var k = 0u; k < 3u; k++) {
    var w: array<u32, 16>;
    for (var m = 0u; m < @F@_WORDS; m++) { w[m] = in_pts[base + k * @F@_WORDS + m]; }
    c[k] = @F@_from_w16(w);
  }
  return @G@_Jac(c[0], c[1], c[2]);
}

fn load_bucket(index: u32) -> @G@_Jac {
  let base = index * @G@_JAC_WORDS;
  var c: array<@FT@, 3>;
  for (var k = 0u; k < 3u; k++) {
    var w: array<u32, 16>;
    for (var m = 0u; m < @F@_WORDS; m++) { w[m] = buckets[base + k * @F@_WORDS + m]; }
    c[k] = @F@_from_w16(w);
  }
  return @G@_Jac(c[0], c[1], c[2]);
}

fn store_bucket(index: u32, p: @G@_Jac) {
  let base = index * @G@_JAC_WORDS;
  var c = array<@FT@, 3>(p.x, p.y, p.z);
  for (var k = 0u; k < 3u; k++) {
    var w = @F@_to_w16(c[k]);
    for (var m = 0u; m < @F@_WORDS; m++) { buckets[base + k * @F@_WORDS + m] = w[m]; }
  }
}

fn store_out(index: u32, key: u32, p: @G@_Jac) {
  out_keys[index] = key;
  let base = index * @G@_JAC_WORDS;
  var c = array<@FT@, 3>(p.x, p.y, p.z);
  for (var k = 0u; k < 3u; k++) {
    var w = @F@_to_w16(c[k]);
    for (var m = 0u; m < @F@_WORDS; m++) { out_pts[base + k * @F@_WORDS + m] = w[m]; }
  }
}

fn store_reduced(index: u32, p: @G@_Jac) {
  let base = index * @G@_JAC_WORDS;
  var c = array<@FT@, 3>(p.x, p.y, p.z);
  for (var k = 0u; k < 3u; k++) {
    var w = @F@_to_w16(c[k]);
    for (var m = 0u; m < @F@_WORDS; m++) { reduced[base + k * @F@_WORDS + m] = w[m]; }
  }
}

// c bits of the standard-form scalar starting at bit `offset` (c <= 16).
fn scalar_bits(index: u32, offset: u32, c: u32) -> u32 {
  let word = offset / 32u;
  let shift = offset % 32u;
  if (word >= 8u) { return 0u; }
  let base = (params.scalar_offset + index) * 8u;
  var v = scalars[base + word] >> shift;
  if (shift + c > 32u && word + 1u < 8u) {
    v |= scalars[base + word + 1u] << (32u - shift);
  }
  return v & ((1u << c) - 1u);
}

// Signed windows: digit d in [-2^(c-1), 2^(c-1)], carrying into the next
// window, so only 2^(c-1) buckets per window are needed (negation is free).
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_decompose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  // The range check: the signed windows need scalar < 2^255 (any Fr element is); the host reads status after the MSM.
  if ((scalars[(params.scalar_offset + i) * 8u + 7u] & 0x80000000u) != 0u) { atomicMax(&status[0], 0xffffffffu - i); }
  let c = params.c;
  let half = 1u << (c - 1u);
  var carry = 0u;
  for (var w = 0u; w < params.nw; w++) {
    var d = scalar_bits(i, w * c, c) + carry;
    var negative = false;
    if (d > half) {
      d = (1u << c) - d;
      negative = true;
      carry = 1u;
    } else {
      carry = 0u;
    }
    if (d == 0u) {
      digits[w * params.n + i] = NO_DIGIT;
    } else {
      var code = d - 1u;
      if (negative) { code |= SIGN_BIT; }
      digits[w * params.n + i] = code;
      atomicAdd(&counts[w * params.nb + d - 1u], 1u);
    }
  }
}

// Exclusive scan of counts_plain into offsets, one tile of WG per workgroup.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn scan_local(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = gid.x;
  var v = 0u;
  if (i < params.total_buckets) { v = counts_plain[i]; }
  scan_tile[lid.x] = v;
  workgroupBarrier();
  for (var stride = 1u; stride < WG; stride *= 2u) {
    var add = 0u;
    if (lid.x >= stride) { add = scan_tile[lid.x - stride]; }
    workgroupBarrier();
    scan_tile[lid.x] += add;
    workgroupBarrier();
  }
  if (i < params.total_buckets) { offsets[i] = scan_tile[lid.x] - v; }
  if (lid.x == WG - 1u) { block_sums[wid.x] = scan_tile[lid.x]; }
}

// One thread turns the tile totals into exclusive tile offsets (there are at
// most total_buckets / WG tiles: 2048 for c = 16 and 16 windows).
@compute @workgroup_size(1)
fn scan_blocks(@builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let tiles = (params.total_buckets + WG - 1u) / WG;
  var running = 0u;
  for (var t = 0u; t < tiles; t++) {
    let s = block_sums[t];
    block_sums[t] = running;
    running += s;
  }
  offsets[params.total_buckets] = running;
}

@compute @workgroup_size(@WORKGROUP_SIZE@)
fn scan_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = gid.x;
  if (i >= params.total_buckets) { return; }
  let o = offsets[i] + block_sums[i / WG];
  offsets[i] = o;
  atomicStore(&cursor[i], o);
}

@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  if (i >= params.n) { return; }
  for (var w = 0u; w < params.nw; w++) {
    let code = digits[w * params.n + i];
    if (code == NO_DIGIT) { continue; }
    let key = w * params.nb + (code & ~SIGN_BIT);
    let pos = atomicAdd(&cursor[key], 1u);
    keys[pos] = key;
    vals[pos] = i | (code & SIGN_BIT);
  }
}

fn bucket_accumulate(key: u32, p: @G@_Jac) {
  if (key >= params.total_buckets || @G@_is_identity(p)) { return; }
  store_bucket(key, @G@_add(load_bucket(key), p));
}

// Thread t sums entries [t*K, t*K + K) of the sorted sequence run by run.
// Runs strictly inside the slice hold every entry of their key, so they go
// straight into the bucket (no other thread of this dispatch touches that
// key). The first and last runs may continue in neighbouring slices: they
// go to output slots 2t and 2t+1 (keys stay sorted) for the next level.
// Every thread does at most K - 1 additions whatever the scalar
// distribution, which keeps heavy buckets (many equal scalars) balanced.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_accumulate_affine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let t = linear_id(gid, nwg);
  let total = offsets[params.total_buckets];
  let start = t * K;
  if (start >= params.count) { return; }
  if (start >= total) {
    store_out(2u * t, SENTINEL, @G@_identity());
    store_out(2u * t + 1u, SENTINEL, @G@_identity());
    return;
  }
  let end = min(start + K, total);
  var run_key = keys[start];
  var acc = @G@_identity();
  var first = true;
  for (var p = start; p < end; p++) {
    let key = keys[p];
    if (key != run_key) {
      if (first && params.last == 0u) { store_out(2u * t, run_key, acc); } else { bucket_accumulate(run_key, acc); }
      first = false;
      acc = @G@_identity();
      run_key = key;
    }
    let v = vals[p];
    var q = load_base(v & ~SIGN_BIT);
    if ((v & SIGN_BIT) != 0u) { q = @G@_aff_neg(q); }
    acc = @G@_add_affine(acc, q);
  }
  if (params.last != 0u) {
    bucket_accumulate(run_key, acc);
  } else if (first) {
    store_out(2u * t, run_key, acc);
    store_out(2u * t + 1u, run_key, @G@_identity());
  } else {
    store_out(2u * t + 1u, run_key, acc);
  }
}

// The same segmented reduction over Jacobian partial sums of a level.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_accumulate_jac(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let t = linear_id(gid, nwg);
  let start = t * K;
  if (start >= params.count) { return; }
  let end = min(start + K, params.count);
  var run_key = in_keys[start];
  var acc = @G@_identity();
  var first = true;
  for (var p = start; p < end; p++) {
    let key = in_keys[p];
    if (key != run_key) {
      if (first && params.last == 0u) { store_out(2u * t, run_key, acc); } else { bucket_accumulate(run_key, acc); }
      first = false;
      acc = @G@_identity();
      run_key = key;
    }
    acc = @G@_add(acc, load_in_jac(p));
  }
  if (params.last != 0u) {
    bucket_accumulate(run_key, acc);
  } else if (first) {
    store_out(2u * t, run_key, acc);
    store_out(2u * t + 1u, run_key, @G@_identity());
  } else {
    store_out(2u * t + 1u, run_key, acc);
  }
}

// Thread (w, j) computes sum over buckets b in segment j of window w of
// (b + 1) * B[b] with a running sum (weights relative to the segment start)
// plus lo * (segment total) for the segment's offset lo.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_bucket_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let id = linear_id(gid, nwg);
  if (id >= params.nw * params.segs) { return; }
  let w = id / params.segs;
  let j = id % params.segs;
  let lo = min(j * params.seg_len, params.nb);
  let hi = min(lo + params.seg_len, params.nb);
  var running = @G@_identity();
  var weighted = @G@_identity();
  for (var b = hi; b > lo; b--) {
    running = @G@_add(running, load_bucket(w * params.nb + b - 1u));
    weighted = @G@_add(weighted, running);
  }
  weighted = @G@_add(weighted, @G@_mul_small(running, lo));
  store_reduced(id, weighted);
}
