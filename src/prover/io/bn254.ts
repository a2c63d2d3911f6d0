/**
 * BN254 (snarkjs's "bn128"), the only curve this prover supports: the one
 * definition of its field constants, used by the file readers, the prover,
 * the WebGPU shader builder and CPU twins, the tests and the benchmarks.
 */
/** p, the base field (Fq) modulus; snarkjs files call it q. */
export const BN254_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** r, the scalar field (Fr) modulus: the group order. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** Bytes per Fq / Fr element in snarkjs files. */
export const BN254_N8 = 32;
