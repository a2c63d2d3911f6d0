pragma circom 2.1.0;

include "circomlib/circuits/eddsaposeidon.circom";

// `count` EdDSA signatures over BabyJubJub with a Poseidon challenge
// (circomlib's EdDSAPoseidonVerifier, always enabled): signature i of the
// message M[i] under the public key (Ax[i], Ay[i]) is (R8x[i], R8y[i], S[i]).
// The messages are the public inputs; keys and signatures stay private, as in
// a batch of authorised requests whose signers the verifier need not learn.
template EdDSAPoseidonBatch(count) {
    signal input M[count];
    signal input Ax[count];
    signal input Ay[count];
    signal input R8x[count];
    signal input R8y[count];
    signal input S[count];
    component verify[count];
    for (var i = 0; i < count; i++) {
        verify[i] = EdDSAPoseidonVerifier();
        verify[i].enabled <== 1;
        verify[i].M <== M[i];
        verify[i].Ax <== Ax[i];
        verify[i].Ay <== Ay[i];
        verify[i].R8x <== R8x[i];
        verify[i].R8y <== R8y[i];
        verify[i].S <== S[i];
    }
}
