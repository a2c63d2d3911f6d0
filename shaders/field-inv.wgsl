// Squaring and inversion over a field instance (field.wgsl, field13.wgsl),
// appended to each by the shader builder: @FIELD@ is the instance's prefix,
// @T@ its element type (Big, Big13). @FIELD@_PM2 is p - 2 in 16-bit limbs,
// @FIELD@_ONE the instance's Montgomery one.

fn @FIELD@_sqr(a: @T@) -> @T@ { return @FIELD@_mul(a, a); }

// a^(p-2) = 1/a for a != 0 (Fermat), 0 for 0, in the instance's Montgomery
// form: square and multiply over the bits of p - 2, most significant first.
// Used once per MSM (to affine).
fn @FIELD@_inv(a: @T@) -> @T@ {
  var e = @FIELD@_PM2;
  var acc = @FIELD@_ONE;
  for (var k = 0u; k < 256u; k++) {
    let bit = 255u - k;
    acc = @FIELD@_mul(acc, acc);
    if (((e[bit / 16u] >> (bit % 16u)) & 1u) != 0u) { acc = @FIELD@_mul(acc, a); }
  }
  return acc;
}
