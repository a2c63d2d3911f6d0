// Short Weierstrass curve y^2 = x^3 + b (a = 0) in Jacobian coordinates
// (x = X/Z^2, y = Y/Z^3; Z = 0 is the point at infinity), instantiated by
// the shader builder per group: @G@ becomes g1 or g2, @F@ the base field
// prefix (fq or fq2) and @FT@ its type (Big or Fq2). The formulas are the
// standard a = 0 ones (dbl-2009-l, add-2007-bl, madd-2007-bl) with explicit
// branches for the exceptional cases (infinity, P == Q, P == -Q), so every
// addition is complete; MSM buckets do hit those cases (repeated points).

struct @G@_Jac { x: @FT@, y: @FT@, z: @FT@ }
struct @G@_Aff { x: @FT@, y: @FT@ }

fn @G@_identity() -> @G@_Jac { return @G@_Jac(@F@_zero(), @F@_one(), @F@_zero()); }
fn @G@_is_identity(p: @G@_Jac) -> bool { return @F@_is_zero(p.z); }
// The all-zero encoding is infinity in the affine byte layout.
fn @G@_aff_is_identity(p: @G@_Aff) -> bool { return @F@_is_zero(p.x) && @F@_is_zero(p.y); }
fn @G@_aff_neg(p: @G@_Aff) -> @G@_Aff { return @G@_Aff(p.x, @F@_neg(p.y)); }
fn @G@_neg(p: @G@_Jac) -> @G@_Jac { return @G@_Jac(p.x, @F@_neg(p.y), p.z); }

// The formulas are programs over a register file (src/prover/backends/webgpu/
// curve-programs.ts), one source emitted by the builder as @G@_run_* functions
// in one of two forms (codegen option curveCode): a table stepped by
// @G@_step, which keeps one field multiplication site per program (Mesa
// inlines every call, so this keeps lavapipe's compile time down), or
// straight-line code over locals, which GPU compilers keep in registers.
fn @G@_step(regs: ptr<function, array<@FT@, @REGS@>>, word: u32) {
  let op = word & 3u;
  let d = (word >> 2u) & 31u;
  let a = (*regs)[(word >> 7u) & 31u];
  let b = (*regs)[(word >> 12u) & 31u];
  if (op == 0u) {
    (*regs)[d] = @F@_mul(a, b);
  } else if (op == 1u) {
    (*regs)[d] = @F@_add(a, b);
  } else {
    (*regs)[d] = @F@_sub(a, b);
  }
}

@CURVE_RUNNERS@

fn @G@_double(p: @G@_Jac) -> @G@_Jac {
  if (@F@_is_zero(p.z) || @F@_is_zero(p.y)) { return @G@_identity(); }
  var regs: array<@FT@, @REGS@>;
  regs[0] = p.x;
  regs[1] = p.y;
  regs[2] = p.z;
  @G@_run_double(&regs);
  return @G@_Jac(regs[9], regs[10], regs[11]);
}

fn @G@_add(p: @G@_Jac, q: @G@_Jac) -> @G@_Jac {
  if (@F@_is_zero(p.z)) { return q; }
  if (@F@_is_zero(q.z)) { return p; }
  var regs: array<@FT@, @REGS@>;
  regs[0] = p.x;
  regs[1] = p.y;
  regs[2] = p.z;
  regs[3] = q.x;
  regs[4] = q.y;
  regs[5] = q.z;
  @G@_run_add1(&regs);
  if (@F@_is_zero(regs[12])) {
    if (@F@_is_zero(regs[13])) { return @G@_double(p); }
    return @G@_identity();
  }
  @G@_run_add2(&regs);
  return @G@_Jac(regs[9], regs[11], regs[16]);
}

// p + q with q affine (Z = 1): the common case in bucket accumulation.
fn @G@_add_affine(p: @G@_Jac, q: @G@_Aff) -> @G@_Jac {
  if (@G@_aff_is_identity(q)) { return p; }
  if (@F@_is_zero(p.z)) { return @G@_Jac(q.x, q.y, @F@_one()); }
  var regs: array<@FT@, @REGS@>;
  regs[0] = p.x;
  regs[1] = p.y;
  regs[2] = p.z;
  regs[3] = q.x;
  regs[4] = q.y;
  @G@_run_madd1(&regs);
  if (@F@_is_zero(regs[9])) {
    if (@F@_is_zero(regs[10])) { return @G@_double(p); }
    return @G@_identity();
  }
  @G@_run_madd2(&regs);
  return @G@_Jac(regs[15], regs[16], regs[8]);
}

// Affine form (x/Z^2, y/Z^3); infinity becomes (0, 0), the byte layout's encoding.
fn @G@_to_affine(p: @G@_Jac) -> @G@_Aff {
  if (@F@_is_zero(p.z)) { return @G@_Aff(@F@_zero(), @F@_zero()); }
  let zi = @F@_inv(p.z);
  let zi2 = @F@_mul(zi, zi);
  return @G@_Aff(@F@_mul(p.x, zi2), @F@_mul(p.y, @F@_mul(zi2, zi)));
}

// Storage encodings: an affine point is 2 coordinates and a Jacobian point
// 3 coordinates of @F@_WORDS words each, packed back to back.
const @G@_AFF_WORDS: u32 = 2u * @F@_WORDS;
const @G@_JAC_WORDS: u32 = 3u * @F@_WORDS;
