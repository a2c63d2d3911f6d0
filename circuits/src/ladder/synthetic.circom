pragma circom 2.1.0;

// Exactly n constraints (n >= 2), one multiplication each, with random-looking
// wire values for random inputs: the bench ladder's circuit of exact size.
// x[i] = x[i-1] * (x[i-1] + b); out is the last link of the chain.
template Synthetic(n) {
    assert(n >= 2);
    signal input a;
    signal input b;
    signal output out;
    signal x[n - 1];
    x[0] <== a * b;
    for (var i = 1; i < n - 1; i++) {
        x[i] <== x[i - 1] * (x[i - 1] + b);
    }
    out <== x[n - 2] * (x[n - 2] + a);
}
