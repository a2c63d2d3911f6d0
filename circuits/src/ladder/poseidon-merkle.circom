pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/mux1.circom";

// One level of a Poseidon Merkle path: the parent of `node` and its sibling,
// `isRight` (0 or 1) saying whether `node` is the right child.
template MerkleLevel() {
    signal input node;
    signal input sibling;
    signal input isRight;
    signal output parent;
    isRight * (1 - isRight) === 0;
    component order = MultiMux1(2);
    order.c[0][0] <== node;
    order.c[0][1] <== sibling;
    order.c[1][0] <== sibling;
    order.c[1][1] <== node;
    order.s <== isRight;
    component hash = Poseidon(2);
    hash.inputs[0] <== order.out[0];
    hash.inputs[1] <== order.out[1];
    parent <== hash.out;
}

// `count` Merkle membership proofs of depth `depth`: each leaf with its path
// gives its tree's root, a public output the verifier compares with the root
// it trusts.
template PoseidonMerkleBatch(count, depth) {
    signal input leaf[count];
    signal input siblings[count][depth];
    signal input isRight[count][depth];
    signal output root[count];
    component levels[count][depth];
    for (var p = 0; p < count; p++) {
        for (var i = 0; i < depth; i++) {
            levels[p][i] = MerkleLevel();
            levels[p][i].node <== i == 0 ? leaf[p] : levels[p][i - 1].parent;
            levels[p][i].sibling <== siblings[p][i];
            levels[p][i].isRight <== isRight[p][i];
        }
        root[p] <== levels[p][depth - 1].parent;
    }
}
