// Pippenger MSM stages for one group (@G@), as separate entry points:
//   1. msm_decompose: signed c-bit windows of each scalar, bucket histogram
//   2. scan_local / scan_blocks / scan_finish: exclusive prefix sum of the
//      histogram (counting sort offsets; also a cursor copy for step 3)
//   3. msm_scatter: entries (point index | sign) sorted by key = window*nb + bucket
//   4. msm_accumulate_affine, then msm_accumulate_jac repeatedly: a balanced
//      segmented reduction of the sorted entries (see docs/webgpu.md)
//   5. msm_reduce_level, repeatedly: the weighted bucket sums
//      sum_b (b + 1) * B[b] of every window, segments of a few elements per
//      thread, each level shrinking its input by the segment length
//   6. msm_combine (one thread): Horner over the window sums, plus the
//      previous chunks' total, and the conversion to affine; the host reads
//      back the status word and one affine point.

struct MsmParams {
  n: u32,             // points (and scalars) in this chunk
  c: u32,             // window width in bits (<= 16)
  nw: u32,            // number of windows
  nb: u32,            // buckets per window = 2^(c-1)
  total_buckets: u32, // nw * nb
  count: u32,         // entries in this accumulation level's input
  last: u32,          // 1 when this accumulation level is a single thread
  red_in: u32,        // reduction level: input elements per window
  red_seg: u32,       // reduction level: input elements per segment (one thread)
  scalar_offset: u32, // index of this chunk's first scalar in the bound scalar vector
  index_base: u32,    // index of this chunk's first scalar in the MSM (for the range-check status)
  flags: u32,         // FLAG_* below
  red_out: u32,       // reduction level: output elements per window
  red_shift: u32,     // reduction level: log2 of the buckets one input element stands for
  pad1: u32,
  pad2: u32,
}

const FLAG_REDUCE_FIRST: u32 = 1u; // msm_reduce_level: the input is the buckets (no weighted part)
const FLAG_ACCUMULATE: u32 = 2u;   // msm_combine: add the previous chunks' total

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
@group(0) @binding(16) var<storage, read> counts_plain: array<u32>;
// The result buffer: word 0 the status (0 when every scalar is < 2^255,
// else 0xffffffff - (index of the first one that is not)), 3 words of
// padding, the affine result, then the Jacobian total kept across chunks.
@group(0) @binding(17) var<storage, read_write> status: array<atomic<u32>>;
// Reduction levels: (t, a) per element, t for every window first, then a (see msm_reduce_level).
@group(0) @binding(18) var<storage, read> red_in: array<u32>;
@group(0) @binding(19) var<storage, read_write> red_out: array<u32>;
@group(0) @binding(20) var<storage, read_write> result: array<u32>;
const RESULT_AFFINE: u32 = 4u; // word offset of the affine result

var<workgroup> scan_tile: array<u32, @WORKGROUP_SIZE@>;

// Linear thread index over a 1-D or 2-D grid (2-D when a dispatch needs
// more than 65535 workgroups).
fn linear_id(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * (nwg.x * WG) + gid.x;
}

// Bases and the result buffer are host buffers (the 16-bit field's Montgomery
// form): _host_ conversions; every other buffer holds the build's own form.
fn read_coord(src_base: u32, which: u32) -> @FT@ {
  var w: array<u32, 16>;
  for (var k = 0u; k < @F@_WORDS; k++) { w[k] = bases[src_base + which * @F@_WORDS + k]; }
  return @F@_from_host_w16(w);
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

fn load_red(index: u32) -> @G@_Jac {
  let base = index * @G@_JAC_WORDS;
  var c: array<@FT@, 3>;
  for (var k = 0u; k < 3u; k++) {
    var w: array<u32, 16>;
    for (var m = 0u; m < @F@_WORDS; m++) { w[m] = red_in[base + k * @F@_WORDS + m]; }
    c[k] = @F@_from_w16(w);
  }
  return @G@_Jac(c[0], c[1], c[2]);
}

fn store_red(index: u32, p: @G@_Jac) {
  let base = index * @G@_JAC_WORDS;
  var c = array<@FT@, 3>(p.x, p.y, p.z);
  for (var k = 0u; k < 3u; k++) {
    var w = @F@_to_w16(c[k]);
    for (var m = 0u; m < @F@_WORDS; m++) { red_out[base + k * @F@_WORDS + m] = w[m]; }
  }
}

// The result buffer's coordinates: `count` of them from word `at`.
fn load_result(at: u32, count: u32) -> array<@FT@, 3> {
  var c: array<@FT@, 3>;
  for (var k = 0u; k < count; k++) {
    var w: array<u32, 16>;
    for (var m = 0u; m < @F@_WORDS; m++) { w[m] = result[at + k * @F@_WORDS + m]; }
    c[k] = @F@_from_host_w16(w);
  }
  return c;
}

fn store_result(at: u32, coords: array<@FT@, 3>, count: u32) {
  var c = coords;
  for (var k = 0u; k < count; k++) {
    var w = @F@_to_host_w16(c[k]);
    for (var m = 0u; m < @F@_WORDS; m++) { result[at + k * @F@_WORDS + m] = w[m]; }
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
// Key 0 (window 0, digit +-1) is the hot counter of witness vectors, which
// are mostly 0 and 1 (0 adds no entry at all): each workgroup counts its
// key-0 digits in workgroup memory and adds them with one global atomic,
// and msm_scatter reserves their places the same way.
var<workgroup> hot_count: atomic<u32>;
var<workgroup> hot_base: u32;

@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_decompose(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  if (lid.x == 0u) { atomicStore(&hot_count, 0u); }
  workgroupBarrier();
  let i = linear_id(gid, nwg);
  if (i < params.n) { decompose_one(i); }
  workgroupBarrier();
  if (lid.x == 0u) {
    let hot = atomicLoad(&hot_count);
    if (hot != 0u) { atomicAdd(&counts[0], hot); }
  }
}

fn decompose_one(i: u32) {
  // The range check: the signed windows need scalar < 2^255 (any Fr element is); the host reads status after the MSM.
  if ((scalars[(params.scalar_offset + i) * 8u + 7u] & 0x80000000u) != 0u) { atomicMax(&status[0], 0xffffffffu - (params.index_base + i)); }
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
      let key = w * params.nb + d - 1u;
      if (key == 0u) { atomicAdd(&hot_count, 1u); } else { atomicAdd(&counts[key], 1u); }
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

// One workgroup turns the tile totals into exclusive tile offsets (there
// are total_buckets / WG tiles: 8192 for c = 16 and 16 windows). Thread l
// sums a run of ceil(tiles / WG) consecutive tiles, the workgroup scans the
// run sums in scan_tile, then each thread writes its run's offsets: 2 *
// tiles / WG + log2(WG) steps per thread instead of one thread's tiles.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn scan_blocks(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let tiles = (params.total_buckets + WG - 1u) / WG;
  let per = (tiles + WG - 1u) / WG;
  let lo = min(lid.x * per, tiles);
  let hi = min(lo + per, tiles);
  var sum = 0u;
  for (var t = lo; t < hi; t++) { sum += block_sums[t]; }
  scan_tile[lid.x] = sum;
  workgroupBarrier();
  for (var stride = 1u; stride < WG; stride *= 2u) {
    var add = 0u;
    if (lid.x >= stride) { add = scan_tile[lid.x - stride]; }
    workgroupBarrier();
    scan_tile[lid.x] += add;
    workgroupBarrier();
  }
  var running = scan_tile[lid.x] - sum;
  for (var t = lo; t < hi; t++) {
    let s = block_sums[t];
    block_sums[t] = running;
    running += s;
  }
  if (lid.x == WG - 1u) { offsets[params.total_buckets] = scan_tile[lid.x]; }
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
fn msm_scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = linear_id(gid, nwg);
  let valid = i < params.n;
  // Key 0: a place within the workgroup's run, then one global reservation for the run.
  if (lid.x == 0u) { atomicStore(&hot_count, 0u); }
  workgroupBarrier();
  var hot_slot = 0u;
  var code0 = NO_DIGIT;
  if (valid) { code0 = digits[i]; }
  let is_hot = code0 != NO_DIGIT && (code0 & ~SIGN_BIT) == 0u;
  if (is_hot) { hot_slot = atomicAdd(&hot_count, 1u); }
  workgroupBarrier();
  if (lid.x == 0u) {
    let hot = atomicLoad(&hot_count);
    var base = 0u;
    if (hot != 0u) { base = atomicAdd(&cursor[0], hot); }
    hot_base = base;
  }
  workgroupBarrier();
  if (!valid) { return; }
  for (var w = 0u; w < params.nw; w++) {
    let code = digits[w * params.n + i];
    if (code == NO_DIGIT) { continue; }
    let key = w * params.nb + (code & ~SIGN_BIT);
    var pos: u32;
    if (key == 0u) { pos = hot_base + hot_slot; } else { pos = atomicAdd(&cursor[key], 1u); }
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

// One level of the bucket reduction (twins/msm.ts reduceLevelTwin). Per
// window, element j of a level stands for the buckets [j*s, (j+1)*s) (s =
// 2^red_shift): t = their sum, a = sum of (b - j*s) * B[b] over them, so
// sum_b b * B[b] = sum_j (a[j] + j*s*t[j]) at every level. Thread (w, J)
// turns the red_seg elements of segment J into one element of the next
// level: t' = sum t[k], a' = sum a[k] + s * sum (k - lo) * t[k] (a running
// sum, then red_shift doublings). Level 0 reads the buckets as t (a = 0).
// Layout: t of every (window, element) first, then a.
@compute @workgroup_size(@WORKGROUP_SIZE@)
fn msm_reduce_level(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let id = linear_id(gid, nwg);
  let outputs = params.nw * params.red_out;
  if (id >= outputs) { return; }
  let w = id / params.red_out;
  let j = id % params.red_out;
  let lo = j * params.red_seg;
  let hi = min(lo + params.red_seg, params.red_in);
  let first = (params.flags & FLAG_REDUCE_FIRST) != 0u;
  let a_base = params.nw * params.red_in;
  var running = @G@_identity();
  var weighted = @G@_identity();
  var a_sum = @G@_identity();
  for (var k = hi; k > lo; k--) {
    let e = w * params.red_in + k - 1u;
    running = @G@_add(running, load_red(e));
    if (!first) { a_sum = @G@_add(a_sum, load_red(a_base + e)); }
    if (k - 1u > lo) { weighted = @G@_add(weighted, running); }
  }
  for (var i = 0u; i < params.red_shift; i++) { weighted = @G@_double(weighted); }
  store_red(id, running);
  store_red(outputs + id, @G@_add(a_sum, weighted));
}

// One thread: the window sums a + t of the last reduction level in Horner
// order (c doublings per window), plus the previous chunks' total when
// FLAG_ACCUMULATE is set; stores the total (Jacobian, for the next chunk)
// and its affine form (all zero for infinity: the byte layout's encoding).
@compute @workgroup_size(1)
fn msm_combine(@builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  var acc = @G@_identity();
  for (var k = 0u; k < params.nw; k++) {
    let w = params.nw - 1u - k;
    for (var i = 0u; i < params.c; i++) { acc = @G@_double(acc); }
    acc = @G@_add(acc, load_red(w));
    acc = @G@_add(acc, load_red(params.nw + w));
  }
  let total_at = RESULT_AFFINE + @G@_AFF_WORDS;
  if ((params.flags & FLAG_ACCUMULATE) != 0u) {
    let prev = load_result(total_at, 3u);
    acc = @G@_add(acc, @G@_Jac(prev[0], prev[1], prev[2]));
  }
  store_result(total_at, array<@FT@, 3>(acc.x, acc.y, acc.z), 3u);
  let aff = @G@_to_affine(acc);
  store_result(RESULT_AFFINE, array<@FT@, 3>(aff.x, aff.y, @F@_zero()), 2u);
}
