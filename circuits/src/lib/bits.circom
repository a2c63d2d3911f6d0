pragma circom 2.1.0;

// Bit decomposition: constrains every bit to 0/1 and the weighted sum to the
// input, so most witness values are 0 or 1.
template ToBits(nBits) {
    signal input in;
    signal output bits[nBits];

    var weighted = 0;
    var weight = 1;
    for (var i = 0; i < nBits; i++) {
        bits[i] <-- (in >> i) & 1;
        bits[i] * (bits[i] - 1) === 0;
        weighted += bits[i] * weight;
        weight = weight + weight;
    }
    weighted === in;
}
