pragma circom 2.1.0;

// A chain of generic multiplications: each step is one R1CS constraint
// x[i+1] = x[i] * y[i] + i, with y[i] = x[i] + seed, so the witness is dense
// (random-looking field elements), the opposite of the bit circuits.
template MulChain(steps) {
    signal input a;
    signal input b;
    signal output out;

    signal x[steps + 1];
    x[0] <== a;
    for (var i = 0; i < steps; i++) {
        // (x + b) is linear, so this is a single constraint per step.
        x[i + 1] <== x[i] * (x[i] + b) + i;
    }
    out <== x[steps];
}
