// Test kernel: for each input pair (a, b) in Montgomery form, writes
// add, sub, mul of field @FIELD@, from_mont(a), to_mont(a) and inv(a).
@group(0) @binding(0) var<storage, read> inputs: array<u32>;      // pairs: a (8 words), b (8 words)
@group(0) @binding(1) var<storage, read_write> results: array<u32>; // 6 x 8 words per pair

fn ld_in(i: u32) -> Big {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = inputs[i * 8u + k]; }
  return big_from_words(w);
}
fn st_res(i: u32, v: Big) {
  var w = big_to_words(v);
  for (var k = 0u; k < 8u; k++) { results[i * 8u + k] = w[k]; }
}

@compute @workgroup_size(64)
fn field_ops(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = gid.x;
  if (i * 16u >= arrayLength(&inputs)) { return; }
  let a = ld_in(2u * i);
  let b = ld_in(2u * i + 1u);
  st_res(6u * i + 0u, @FIELD@_add(a, b));
  st_res(6u * i + 1u, @FIELD@_sub(a, b));
  st_res(6u * i + 2u, @FIELD@_mul(a, b));
  st_res(6u * i + 3u, @FIELD@_from_mont(a));
  st_res(6u * i + 4u, @FIELD@_to_mont(a));
  st_res(6u * i + 5u, @FIELD@_inv(a));
}
