pragma circom 2.1.0;

// Witness-time checks, for the witness calculator's tests: an assert inside a
// sub-template (x = 7 fails it), a constraint checked while the witness is
// computed (y = 0 fails it, as y * inverse === 1 cannot hold), and a log() line.
template NotSeven() {
    signal input in;
    assert(in != 7);
}

template Checks() {
    signal input x;
    signal input y;
    signal output product;

    component guard = NotSeven();
    guard.in <== x;

    signal inverse;
    inverse <-- y != 0 ? 1 / y : 0;
    y * inverse === 1;

    product <== x * y;
    log("product", product);
}

component main = Checks();
