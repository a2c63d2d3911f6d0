pragma circom 2.1.0;

include "lib/bits.circom";

// 13 values of 200 bits each: about 2^11.3 constraints, witness mostly 0/1.
template ManyBits(nValues, nBits) {
    signal input values[nValues];
    signal output total;

    component decompose[nValues];
    var sum = 0;
    for (var v = 0; v < nValues; v++) {
        decompose[v] = ToBits(nBits);
        decompose[v].in <== values[v];
        sum += values[v];
    }
    total <== sum;
}

component main = ManyBits(13, 200);
