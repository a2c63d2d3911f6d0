pragma circom 2.1.0;

include "lib/mulchain.circom";

// The smallest useful circuit: 8 multiplications (domain 2^4), so a prove is
// a few milliseconds and a service benchmark (bench/service.ts) measures the
// service around the prover, not the prover.
component main { public [a] } = MulChain(8);
