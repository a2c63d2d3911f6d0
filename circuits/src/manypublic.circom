pragma circom 2.1.0;

// 72 public inputs; each is squared and multiplied into a running product,
// plus a few rounds of mixing, for about 2^10 constraints.
template ManyPublic(nPublic, rounds) {
    signal input pub[nPublic];
    signal input secret;
    signal output digest;

    signal squares[nPublic];
    signal acc[nPublic + 1];
    acc[0] <== secret;
    for (var i = 0; i < nPublic; i++) {
        squares[i] <== pub[i] * pub[i];
        acc[i + 1] <== acc[i] * (squares[i] + i + 1);
    }

    signal mix[rounds + 1];
    mix[0] <== acc[nPublic];
    for (var r = 0; r < rounds; r++) {
        mix[r + 1] <== mix[r] * mix[r] + pub[r % nPublic];
    }
    digest <== mix[rounds];
}

component main { public [pub] } = ManyPublic(72, 800);
