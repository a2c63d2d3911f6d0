// Field-level kernels over one limb width, instantiated by the shader
// builder: @T@ is the element type (Big: 16 x 16-bit limbs, Big13: 20 x
// 13-bit limbs), @F@ the field prefix (fq, fq13), @FROM_WORDS@/@TO_WORDS@
// the conversion from/to 8 little-endian u32 words.
//   field_ops: for each pair (a, b), writes add, sub, mul (tests vs the twin).
//   mul_chain: x <- x * y, chain.x times per thread (the limb-width bench).
@group(0) @binding(0) var<storage, read> inputs: array<u32>;       // pairs: a (8 words), b (8 words)
@group(0) @binding(1) var<storage, read_write> results: array<u32>; // field_ops: 3 x 8 words per pair; mul_chain: 8
@group(0) @binding(2) var<uniform> chain: vec4<u32>;                 // x: multiplications per thread

fn ld_in(i: u32) -> @T@ {
  var w: array<u32, 8>;
  for (var k = 0u; k < 8u; k++) { w[k] = inputs[i * 8u + k]; }
  return @FROM_WORDS@(w);
}
fn st_res(i: u32, v: @T@) {
  var w = @TO_WORDS@(v);
  for (var k = 0u; k < 8u; k++) { results[i * 8u + k] = w[k]; }
}

@compute @workgroup_size(64)
fn field_ops(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = gid.x;
  if (i * 16u >= arrayLength(&inputs)) { return; }
  let a = ld_in(2u * i);
  let b = ld_in(2u * i + 1u);
  st_res(3u * i + 0u, @F@_add(a, b));
  st_res(3u * i + 1u, @F@_sub(a, b));
  st_res(3u * i + 2u, @F@_mul(a, b));
}

@compute @workgroup_size(64)
fn mul_chain(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  big_init(nwg.x);
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i * 16u >= arrayLength(&inputs)) { return; }
  var x = ld_in(2u * i);
  let y = ld_in(2u * i + 1u);
  for (var k = 0u; k < chain.x; k++) { x = @F@_mul(x, y); }
  st_res(i, x);
}
