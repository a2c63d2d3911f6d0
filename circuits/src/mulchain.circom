pragma circom 2.1.0;

include "lib/mulchain.circom";

// 1500 generic multiplications (a non-power-of-two constraint count).
component main { public [a] } = MulChain(1500);
